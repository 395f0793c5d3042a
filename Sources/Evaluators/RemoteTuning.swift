import Foundation
import NumericCore
import Pipeline
import PPO
import Scoring
import Statistics
import TunerPolicy
import Tuning

/// Offline tuning against a remote evaluator: PPO learns on batches of the evaluator's train
/// split, and the verdict compares the learned configuration of each category with the default
/// one on the evaluator's held-out split, batch by batch with the same seeds (the protocol
/// reports batches, not queries, so the pairs are batches).
public struct RemoteTuning: Sendable {
    public let source: RemoteBatchSource
    public let reward: RewardFunction
    public let actions: PolicyConfiguration.ActionBounds
    public let options: RAGTuningEnvironment.Options

    public init(source: RemoteBatchSource, policy: PolicyConfiguration, options: RAGTuningEnvironment.Options = .init()) {
        self.source = source
        reward = RewardFunction(policy)
        actions = policy.actions
        self.options = options
    }

    public func environments(seed: UInt64) -> (Int) -> RAGTuningEnvironment {
        { [self] i in RAGTuningEnvironment(source: source, reward: reward, actions: actions, options: options, seed: seed &* 1_000_003 &+ UInt64(i)) }
    }

    public func trainer(_ configuration: PPOConfiguration) throws -> PPOTrainer<RAGTuningEnvironment> {
        try PPOTrainer(configuration: configuration, makeEnvironment: environments(seed: configuration.seed))
    }

    public struct Verdict: Sendable {
        public var configurations: [String: RAGSettings]
        /// Mean batch reward of the learned and of the default configuration, per category.
        public var learned: [String: Double]
        public var defaultStatic: [String: Double]
        /// Learned − default over all (category, seed) batch pairs, with its bootstrap interval.
        public var gain: BootstrapInterval
        public var batches: Int
        /// Learned batches that breached a gate.
        public var gateBreaches: Int
        /// Train categories the held-out split has no question of: learned, not judged.
        public var unjudgedCategories: [String]
    }

    public enum Failure: Error, CustomStringConvertible {
        case noCommonCategory(train: [String], heldOut: [String], split: String)
        public var description: String {
            switch self {
            case let .noCommonCategory(train, heldOut, split):
                "the evaluator's '\(split)' split shares no category with its train split (train: \(train.joined(separator: ", ")); \(split): \(heldOut.joined(separator: ", ")))"
            }
        }
    }

    /// Scores the learned configurations on `batches` seeded batches per category of `split`.
    public func verdict(policy: Policy, split: String = "test", batches: Int = 20, bootstrap: Bootstrap = Bootstrap()) throws -> Verdict {
        let probe = environments(seed: 0)(0)
        let heldOut = RemoteBatchSource.Split(source: source, split: split)
        // A category with train questions but none held out is learned but cannot be judged; asking
        // for it would be refused (400) after the whole training run.
        let heldOutCategories = try RemoteBatchSource.probe(source.evaluator, split: split, size: source.probeSize).perCategory.keys.sorted()
        let unjudged = source.categories.filter { !heldOutCategories.contains($0) }
        guard unjudged.count < source.categories.count else {
            throw Failure.noCommonCategory(train: source.categories, heldOut: heldOutCategories, split: split)
        }
        var configurations: [String: RAGSettings] = [:]
        var learnedRewards: [Double] = []
        var defaultRewards: [Double] = []
        var learned: [String: Double] = [:]
        var defaults: [String: Double] = [:]
        var breaches = 0
        for (c, category) in source.categories.enumerated() where !unjudged.contains(category) {
            let action = policy.deterministicAction(probe.initialObservation(category: c))
            let chosen = probe.configuration(for: policy.actionSpace.environmentValues(action))
            configurations[category] = chosen
            let categoryReward = reward.forCategory(category)
            for seed in 0..<UInt64(batches) {
                let (l, lGates) = try heldOut.score(chosen, category: category, size: options.batchSize, seed: seed, reward: categoryReward)
                let (d, _) = try heldOut.score(RAGTuningEnvironment.defaultConfiguration, category: category, size: options.batchSize, seed: seed, reward: categoryReward)
                learnedRewards.append(l)
                defaultRewards.append(d)
                if !lGates { breaches += 1 }
            }
            learned[category] = learnedRewards.suffix(batches).reduce(0, +) / Double(batches)
            defaults[category] = defaultRewards.suffix(batches).reduce(0, +) / Double(batches)
        }
        return Verdict(
            configurations: configurations, learned: learned, defaultStatic: defaults,
            gain: bootstrap.pairedDifference(learnedRewards, defaultRewards, method: .percentile), batches: learnedRewards.count,
            gateBreaches: breaches, unjudgedCategories: unjudged)
    }
}

extension RemoteBatchSource {
    /// Seeded single batches of one split, for the verdict.
    struct Split {
        let source: RemoteBatchSource
        let split: String

        func score(_ c: RAGSettings, category: String, size: Int, seed: UInt64, reward: RewardFunction) throws -> (reward: Double, gatesPassed: Bool) {
            let request = EvaluatorProtocol.Request(configuration: c, batch: .init(size: size, split: split, seed: seed, category: category))
            let metrics = try RemoteBatchSource.blocking { try await source.evaluator.evaluate(request) }.overall
            let breakdown = metrics.reward(reward)
            return (breakdown.reward, breakdown.gatesPassed)
        }
    }
}
