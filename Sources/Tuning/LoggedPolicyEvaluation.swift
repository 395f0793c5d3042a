import Foundation
import NumericCore
import Pipeline
import Retrieval
import Statistics
import TunerPolicy

/// Off-policy evaluation of a policy checkpoint on logged decisions (``DecisionLog``): the
/// target policy's probability of each logged action, a ridge reward model on
/// [1, context, encoded action], its expectation under the target policy by sampling, and every
/// estimator of `OffPolicyEvaluation` with its bootstrap interval.
public struct LoggedPolicyEvaluation {
    public struct Options: Sendable {
        /// Actions sampled from the target policy per context for E_{a∼π} r̂(x, a).
        public var samplesPerContext = 64
        public var ridge = 1.0
        public var switchThreshold = 10.0
        public var bootstrap = Bootstrap()
        public var seed: UInt64 = 1
        public init() {}
    }

    public enum Failure: Error, CustomStringConvertible, Equatable {
        case missingReward(row: Int)
        case shape(row: Int, reason: String)

        public var description: String {
            switch self {
            case .missingReward(let row): "row \(row): no reward; off-policy evaluation needs the observed outcome"
            case .shape(let row, let reason): "row \(row): \(reason)"
            }
        }
    }

    /// `fixedAction` gives, for a context whose category the target serves fixed settings
    /// (``PolicyCheckpoint/sharedSettings``), their stored action: there the target is that one action, with
    /// probability 1 (``RAGPolicy/fixedAction(features:)``).
    public static func evaluate(_ records: [DecisionRecord], policy: Policy, fixedAction: ([Float]) -> [Float]? = { _ in nil },
                                options: Options = Options()) throws -> [OffPolicyEvaluation.Estimate] {
        let space = policy.actionSpace
        let observationSize = policy.network.architecture.observationSize
        var rewards: [Double] = []
        var features: [[Double]] = []
        var target: [Double] = []
        for (i, record) in records.enumerated() {
            guard let reward = record.reward else { throw Failure.missingReward(row: i + 1) }
            guard record.context.count == observationSize else {
                throw Failure.shape(row: i + 1, reason: "context has \(record.context.count) features, the policy \(observationSize)")
            }
            guard record.action.count == space.count else {
                throw Failure.shape(row: i + 1, reason: "action has \(record.action.count) heads, the policy \(space.count)")
            }
            rewards.append(reward)
            features.append(Self.features(record.context, record.action, space: space))
            if let fixed = fixedAction(record.context) {
                target.append(zip(fixed, record.action).allSatisfy { abs($0 - $1) <= 1e-6 } ? 1 : 0)
            } else {
                target.append(Double(exp(policy.logProbability(of: record.action, given: record.context, mask: record.mask))))
            }
        }
        // The reward model (validated rows only reach here).
        let beta = try LinearAlgebra.ridgeRegression(features, rewards, lambda: options.ridge)
        func predict(_ x: [Double]) -> Double { zip(x, beta).reduce(0) { $0 + $1.0 * $1.1 } }
        var rng = RandomGenerator(seed: options.seed)
        let predictedTarget = records.map { record -> Double in
            if let fixed = fixedAction(record.context) { return predict(Self.features(record.context, fixed, space: space)) }
            var total = 0.0
            for _ in 0..<options.samplesPerContext {
                let action = policy.sampledAction(record.context, mask: record.mask, using: &rng)
                total += predict(Self.features(record.context, action, space: space))
            }
            return total / Double(options.samplesPerContext)
        }
        let evaluation = try OffPolicyEvaluation(
            rewards: rewards, loggingPropensities: records.map(\.propensity), targetProbabilities: target,
            predictedLogged: features.map(predict), predictedTarget: predictedTarget)
        return try OffPolicyEvaluation.Estimator.allCases.map {
            try evaluation.estimate($0, switchThreshold: options.switchThreshold, bootstrap: options.bootstrap)
        }
    }

    static func features(_ context: [Float], _ action: [Float], space: ActionSpace) -> [Double] {
        [1] + context.map(Double.init) + space.encoded(action).map(Double.init)
    }
}
