import Evaluation
import Foundation
import NumericCore
import Testing
import TunerEnvironment
import TunerPolicy

/// A simulated logged bandit with a known answer: contexts x ~ N(0, I₂), actions (variant of 3,
/// re-rank on/off) logged uniformly at random (propensity 1/6), reward Bernoulli with
/// p = 0.2 + 0.5·[variant = (x₀ > 0 ? 0 : 1)] + 0.2·rerank. A target policy read back from a
/// checkpoint file is evaluated; its true value is computed from p and the policy's own
/// probabilities. The importance-weighted estimators must land within 4 bootstrap standard errors.
@Suite struct LoggedPolicyEvaluationTests {
    static let space = ActionSpace([.categorical("variant", choices: ["bm25", "dense", "hybrid"]), .bernoulli("rerank")])

    static func rewardProbability(_ x: [Float], _ action: [Float]) -> Double {
        0.2 + (Int(action[0]) == (x[0] > 0 ? 0 : 1) ? 0.5 : 0) + 0.2 * Double(action[1])
    }

    @Test func estimatorsRecoverTheTargetPolicysValueFromACheckpoint() throws {
        var rng = RandomGenerator(seed: 42)
        let network = PolicyNetwork(architecture: PolicyArchitecture(observationSize: 2, actionSpace: Self.space, hiddenSizes: [8]))
        try network.initialize(using: &rng)
        for i in 0..<network.arena.count { network.arena.values[i] += Float(rng.normal()) * 0.8 }
        // Written where `tuner ope` can be tried on them after a test run.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ragtuner-ope-example")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let checkpoint = folder.appendingPathComponent("target.policy")
        try PolicyCheckpoint(network: network, normalizer: RunningNormalizer(size: 2)).write(to: checkpoint)
        let policy = Policy(checkpoint: try PolicyCheckpoint.read(from: checkpoint))

        var records: [DecisionRecord] = []
        var truth = 0.0
        let actions: [[Float]] = (0..<3).flatMap { v in [[Float(v), 0], [Float(v), 1]] }
        for _ in 0..<3_000 {
            let x = [Float(rng.normal()), Float(rng.normal())]
            let action = actions[rng.bounded(6)]
            let reward: Double = rng.uniform() < Self.rewardProbability(x, action) ? 1 : 0
            records.append(DecisionRecord(context: x, action: action, propensity: 1.0 / 6, reward: reward))
            truth += actions.reduce(0) { $0 + Double(exp(policy.logProbability(of: $1, given: x))) * Self.rewardProbability(x, $1) }
        }
        truth /= Double(records.count)
        let log = folder.appendingPathComponent("decisions.jsonl")
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        try records.map { String(decoding: try encoder.encode($0), as: UTF8.self) }.joined(separator: "\n")
            .write(to: log, atomically: true, encoding: .utf8)
        #expect(try LoggedPolicyEvaluation.readLog(log) == records)

        var options = LoggedPolicyEvaluation.Options()
        options.samplesPerContext = 16
        options.bootstrap = Bootstrap(resamples: 1_000, seed: 5)
        let estimates = try LoggedPolicyEvaluation.evaluate(records, policy: policy, options: options)
        #expect(estimates.map(\.estimator) == OffPolicyEvaluation.Estimator.allCases)
        for e in estimates where e.estimator != .dm {
            print("OPE \(e.estimator.rawValue): \(e.value) ± \(e.interval.standardError) (truth \(truth), ESS \(Int(e.effectiveSampleSize)))")
            #expect(abs(e.value - truth) < 4 * e.interval.standardError, "\(e.estimator)")
            #expect(e.warning == nil)
        }
    }

    @Test func logsWithoutOutcomesOrWithWrongShapesAreRefusedByRow() throws {
        let network = PolicyNetwork(architecture: PolicyArchitecture(observationSize: 2, actionSpace: Self.space, hiddenSizes: [4]))
        let policy = Policy(network: network, normalizer: nil)
        let good = DecisionRecord(context: [0, 1], action: [1, 0], propensity: 0.2, reward: 1)
        #expect(throws: LoggedPolicyEvaluation.Failure.missingReward(row: 2)) {
            try LoggedPolicyEvaluation.evaluate([good, DecisionRecord(context: [0, 1], action: [1, 0], propensity: 0.2, reward: nil)], policy: policy)
        }
        #expect(throws: LoggedPolicyEvaluation.Failure.shape(row: 1, reason: "context has 3 features, the policy 2")) {
            try LoggedPolicyEvaluation.evaluate([DecisionRecord(context: [0, 1, 2], action: [1, 0], propensity: 0.2, reward: 1), good], policy: policy)
        }
        #expect(throws: OffPolicyEvaluation.Failure.invalidPropensity(row: 2, value: 0)) {
            try LoggedPolicyEvaluation.evaluate([good, DecisionRecord(context: [0, 1], action: [1, 0], propensity: 0, reward: 1)], policy: policy)
        }
    }
}
