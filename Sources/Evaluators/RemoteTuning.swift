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
/// one on the evaluator's held-out split. From an evaluator that answers per question the verdict
/// is on every held-out question, paired per question with the bootstrap over questions, as the
/// offline verdict is; from one that answers aggregates only, it is on seeded batches paired by
/// seed.
public struct RemoteTuning: Sendable {
    public enum Source: Sendable {
        case perQuery(RemoteQuerySource)
        case batches(RemoteBatchSource)

        public var batchSource: any BatchSource {
            switch self {
            case let .perQuery(s): s
            case let .batches(s): s
            }
        }

        public var ledger: EvaluationLedger {
            switch self {
            case let .perQuery(s): s.ledger
            case let .batches(s): s.ledger
            }
        }
    }

    public let source: Source
    public let reward: RewardFunction
    public let actions: PolicyConfiguration.ActionBounds
    public let options: RAGTuningEnvironment.Options
    /// How tuning spends the evaluator: the budgeted grid search (``BudgetedSearch``), which
    /// needs an evaluator that answers per question, or nil for PPO on real evaluations.
    public let search: BudgetedSearch.Options?

    /// The gates are the evaluator's own where it describes them, else `policy`'s.
    public init(source: Source, policy: PolicyConfiguration, options: RAGTuningEnvironment.Options = .init(), search: BudgetedSearch.Options? = nil) {
        self.source = source
        if case let .perQuery(s) = source { reward = s.description.reward(policy) } else { reward = RewardFunction(policy) }
        actions = policy.actions
        self.options = options
        if case .perQuery = source { self.search = search } else { self.search = nil }
    }

    /// The budgeted search over the action bounds' grid, when this tuning searches.
    public var budgetedSearch: BudgetedSearch? {
        guard let search, case let .perQuery(s) = source else { return nil }
        return BudgetedSearch(source: s, reward: reward, options: search)
    }

    /// The knobs tuning sets: the query source's, or the built-in pipeline's for an evaluator
    /// that answers aggregates only.
    public var knobs: KnobDeclaration? {
        if case let .perQuery(s) = source { s.knobs } else { nil }
    }

    /// Whether the knobs are the built-in pipeline's, which PPO's environment applies.
    public var tunesPipelineKnobs: Bool { knobs.map { $0.names == PolicyConfiguration.pipelineKnobNames } ?? true }

    /// The service's own configuration, what the verdict compares with.
    public var defaultConfiguration: Configuration { knobs?.defaults ?? RAGTuningEnvironment.defaultConfiguration.configuration }

    public enum Refusal: Error, CustomStringConvertible {
        case ppoNeedsPipelineKnobs([String])
        public var description: String {
            switch self {
            case let .ppoNeedsPipelineKnobs(names):
                "--strategy ppo trains on the built-in pipeline's knobs (\(PolicyConfiguration.pipelineKnobNames.joined(separator: ", "))); this evaluator's are \(names.joined(separator: ", ")): use --strategy search"
            }
        }
    }

    public var categories: [String] { source.batchSource.categories }

    /// PPO's environments. A searching tuning never steps them (its network only gives the
    /// checkpoint its shape), so they start unmeasured rather than pay for a starting state.
    public func environments(seed: UInt64) -> (Int) -> RAGTuningEnvironment {
        { [self] i in
            RAGTuningEnvironment(source: source.batchSource, reward: reward, actions: actions, options: options,
                                 startingMetrics: search == nil ? nil : RAGTuningEnvironment.unmeasured, seed: seed &* 1_000_003 &+ UInt64(i))
        }
    }

    public func trainer(_ configuration: PPOConfiguration) throws -> PPOTrainer<RAGTuningEnvironment> {
        guard tunesPipelineKnobs else { throw Refusal.ppoNeedsPipelineKnobs(knobs?.names ?? []) }
        return try PPOTrainer(configuration: configuration, makeEnvironment: environments(seed: configuration.seed))
    }

    public struct Verdict: Sendable {
        public enum Pairing: String, Sendable { case queries, batches }
        /// The learned configuration of each judged category.
        public var configurations: [String: Configuration]
        /// Reward of the learned configurations and of the default one: on the whole held-out
        /// split (per question), or the mean batch reward over categories (batches).
        public var policyReward: Double
        public var defaultReward: Double
        public var learned: [String: Double]
        public var defaultStatic: [String: Double]
        /// Learned − default per question (or per batch pair), with its bootstrap interval.
        public var gain: BootstrapInterval
        public var pairs: Int
        public var pairing: Pairing
        /// Categories whose learned configuration breached a gate on the held-out split (in any
        /// of its batches, for batch pairs).
        public var gateViolations: [String]
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

    /// Judges `policy` on `split`, with the categories of `fixed` served its configuration rather
    /// than the network's (``PolicyCheckpoint/categorySettings``; a searched run fixes every
    /// category, and has no network where the knobs are not the pipeline's); `batches` seeded
    /// batches per category where the evaluator answers aggregates only. The evaluations are the
    /// ledger's verdict spending, outside the budget.
    public func verdict(policy: Policy?, fixed: [String: Configuration] = [:], split: String = "test", batches: Int = 20,
                        bootstrap: Bootstrap = Bootstrap()) throws -> Verdict {
        source.ledger.enter(.verdict)
        switch source {
        case let .perQuery(s): return try queryVerdict(s, policy: policy, fixed: fixed, split: split, bootstrap: bootstrap)
        case let .batches(s): return try batchVerdict(s, policy: policy, fixed: fixed, split: split, batches: batches, bootstrap: bootstrap)
        }
    }

    /// The configuration each of `judged` (all train categories) is served.
    func configurations(_ policy: Policy?, fixed: [String: Configuration], judged: [String]) -> [String: Configuration] {
        var chosen: [String: Configuration] = [:]
        for (c, category) in categories.enumerated() where judged.contains(category) {
            if let own = fixed[category] {
                chosen[category] = own
            } else if let policy {
                let probe = environments(seed: 0)(0)
                let action = policy.deterministicAction(probe.initialObservation(category: c))
                chosen[category] = probe.configuration(for: policy.actionSpace.environmentValues(action)).configuration
            } else {
                chosen[category] = defaultConfiguration
            }
        }
        return chosen
    }

    /// The categories of `heldOut` that training saw, and those it saw that `heldOut` lacks (a
    /// request for one would be refused after the whole training run).
    func judged(heldOut: [String], split: String) throws -> (judged: [String], unjudged: [String]) {
        let unjudged = categories.filter { !heldOut.contains($0) }
        guard unjudged.count < categories.count else { throw Failure.noCommonCategory(train: categories, heldOut: heldOut, split: split) }
        return (categories.filter { heldOut.contains($0) }, unjudged)
    }

    func queryVerdict(_ s: RemoteQuerySource, policy: Policy?, fixed: [String: Configuration], split: String, bootstrap: Bootstrap) throws -> Verdict {
        let heldOut = try s.description.categories(of: split)
        let (judged, unjudged) = try judged(heldOut: Array(heldOut.keys), split: split)
        let chosen = configurations(policy, fixed: fixed, judged: judged)
        // Every held-out question: a category training never saw gets the default configuration.
        let names = heldOut.keys.sorted()
        var learnedOutcomes: [QueryOutcome] = [], defaultOutcomes: [QueryOutcome] = [], categoryIndices: [Int] = []
        for (c, name) in names.enumerated() {
            let ids = heldOut[name]!
            learnedOutcomes += RemoteQuerySource.outcomes(try s.results(chosen[name] ?? defaultConfiguration, split: split, ids: ids))
            defaultOutcomes += RemoteQuerySource.outcomes(try s.results(defaultConfiguration, split: split, ids: ids))
            categoryIndices += Array(repeating: c, count: ids.count)
        }
        func report(_ outcomes: [QueryOutcome]) -> BatchReport {
            BatchReport(configuration: RAGTuningEnvironment.defaultConfiguration, outcomes: outcomes, categories: categoryIndices, categoryNames: names, reward: reward)
        }
        let learnedReport = report(learnedOutcomes), defaultReport = report(defaultOutcomes)
        let queryReward = { (o: QueryOutcome) in
            reward.weights.queryReward(faithfulness: o.faithfulness, relevancy: o.relevancy, latencyMilliseconds: o.latencyMilliseconds, costUSD: o.costUSD)
        }
        return Verdict(
            configurations: chosen, policyReward: learnedReport.overall.reward.reward, defaultReward: defaultReport.overall.reward.reward,
            learned: learnedReport.perCategory.mapValues(\.reward.reward), defaultStatic: defaultReport.perCategory.mapValues(\.reward.reward),
            gain: bootstrap.pairedDifference(learnedOutcomes.map(queryReward), defaultOutcomes.map(queryReward)),
            pairs: learnedOutcomes.count, pairing: .queries,
            gateViolations: learnedReport.perCategory.filter { !$0.value.gatesPassed }.map(\.key).sorted(), unjudgedCategories: unjudged)
    }

    func batchVerdict(_ s: RemoteBatchSource, policy: Policy?, fixed: [String: Configuration], split: String, batches: Int,
                      bootstrap: Bootstrap) throws -> Verdict {
        let heldOut = try RemoteBatchSource.probe(s.evaluator, split: split, size: s.probeSize, ledger: s.ledger).perCategory.keys
        let (judged, unjudged) = try judged(heldOut: Array(heldOut), split: split)
        let chosen = configurations(policy, fixed: fixed, judged: judged)
        var learnedRewards: [Double] = [], defaultRewards: [Double] = []
        var learned: [String: Double] = [:], defaults: [String: Double] = [:]
        var violations: [String] = []
        for category in judged {
            let categoryReward = reward.forCategory(category)
            var breached = false
            for seed in 0..<UInt64(batches) {
                func score(_ c: Configuration) throws -> RewardBreakdown {
                    let request = EvaluatorProtocol.Request(configuration: c, batch: .init(size: options.batchSize, split: split, seed: seed, category: category))
                    return try RemoteBatchSource.paid(s.evaluator, request, ledger: s.ledger).overall.reward(categoryReward)
                }
                let l = try score(chosen[category]!)
                learnedRewards.append(l.reward)
                defaultRewards.append(try score(defaultConfiguration).reward)
                breached = breached || !l.gatesPassed
            }
            if breached { violations.append(category) }
            learned[category] = learnedRewards.suffix(batches).reduce(0, +) / Double(batches)
            defaults[category] = defaultRewards.suffix(batches).reduce(0, +) / Double(batches)
        }
        // Every category has as many batches, so the mean over categories is the mean batch reward.
        return Verdict(
            configurations: chosen, policyReward: learnedRewards.reduce(0, +) / Double(learnedRewards.count),
            defaultReward: defaultRewards.reduce(0, +) / Double(defaultRewards.count), learned: learned, defaultStatic: defaults,
            gain: bootstrap.pairedDifference(learnedRewards, defaultRewards, method: .percentile), pairs: learnedRewards.count, pairing: .batches,
            gateViolations: violations, unjudgedCategories: unjudged)
    }
}
