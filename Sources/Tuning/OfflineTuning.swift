import Foundation
import Pipeline
import PPO
import Retrieval
import Scoring
import Statistics
import TunerPolicy

/// `tuner train --mode offline` on a frozen slice: PPO learns a per-category configuration on the
/// train split through `RAGTuningEnvironment`, and the verdict compares it on the test split with
/// the default static configuration, the best static configuration of the grid and the
/// per-category oracle — the last two chosen on the train split, so the test split stays held out.
public struct OfflineTuning {
    public struct Verdict: Sendable {
        /// What each test category is served: the policy's proposal where the category is
        /// specialised (``Specialisation``), the shared configuration elsewhere.
        public var policyConfigurations: [String: RAGSettings]
        public var policy: MetricsSummary
        public var defaultStatic: MetricsSummary
        public var bestStatic: MetricsSummary
        public var bestStaticConfiguration: RAGSettings
        public var oracle: MetricsSummary
        public var oracleConfigurations: [String: RAGSettings]
        /// Paired differences of per-query reward, bootstrap over queries.
        public var gainVersusDefault: BootstrapInterval
        public var gainVersusBestStatic: BootstrapInterval
        public var gainVersusOracle: BootstrapInterval
        /// Mean per-query reward of each, what the gains are differences of.
        public var queryRewards: QueryRewards
        /// The per-category oracle's configurations scored on the train split as
        /// ``OfflineTuning/trainReward(_:)`` scores a policy's: what the policy's own train score
        /// is measured against (a policy may score higher, off the grid's points).
        public var oracleTrainReward: Double
        /// Categories whose chosen configuration breaches a gate on the test split.
        public var gateViolations: [String]
        /// Categories whose gates no configuration of the grid meets on the train split: a
        /// violation there says the thresholds are out of reach, not that the policy chose badly.
        public var unattainableGateCategories: [String]
        /// Which categories earned a configuration of their own, and why or why not.
        public var specialisation: Specialisation
        /// What the learned network proposes per train category, before the evidence rule.
        public var proposedConfigurations: [String: RAGSettings]
        /// The train categories served the shared configuration (the best static one), as the
        /// checkpoint carries them (``PolicyCheckpoint/sharedCategories``).
        public var sharedCategories: [String]
        /// Whether the learned configurations pass the gates over the whole test split.
        public var overallGatesPassed: Bool { policy.reward.gatesPassed }
        /// The learned policy's outcome for each test query (cache order).
        public var policyOutcomes: [QueryOutcome]
        public var policyOutcomeConfigurations: [RAGSettings]
    }

    /// The mean per-query reward (α·F + β·R − γ·L̂ − δ·Ĉ of each query) on the held-out split.
    public struct QueryRewards: Sendable, Equatable {
        public var policy: Double
        public var defaultStatic: Double
        public var bestStatic: Double
        public var oracle: Double
    }

    public let setup: EvaluationSetup
    public let system: RetrievalSystem
    public let trainCache: EvaluationCache
    public let testCache: EvaluationCache
    public let environmentOptions: RAGTuningEnvironment.Options
    /// The default configuration's per-query reward on the train split: the environments' baseline.
    let trainReferenceRewards: [Double]
    /// How the environments scale the service metrics (``RAGTuningEnvironment/Options/robustContext``).
    public private(set) var robustScaling: ContextFeatures.RobustScaling?

    public init(setup: EvaluationSetup, system: RetrievalSystem, environmentOptions: RAGTuningEnvironment.Options = .init(),
                timings: StageTimings? = nil) throws {
        try self.init(setup: setup, system: system, train: setup.queries(split: "train"), test: setup.queries(split: "test"),
                      environmentOptions: environmentOptions, timings: timings)
    }

    /// Tuning on given slices of the dataset's queries (a replayed request log: a query appears
    /// once per request, so the traffic's mix is what is learned). Questions in `timings` are
    /// charged the stage times recorded there (a resumed or repeated run), the rest measured.
    public init(setup: EvaluationSetup, system: RetrievalSystem, train: [Int], test: [Int], environmentOptions: RAGTuningEnvironment.Options = .init(),
                timings: StageTimings? = nil) throws {
        try setup.policy.requirePipelineKnobs(for: "offline tuning")
        if let unknown = environmentOptions.frozenHeads?.first(where: { !RAGTuningEnvironment.heads.contains($0) }) {
            throw UnknownHead(name: unknown)
        }
        self.setup = setup
        self.system = system
        self.environmentOptions = environmentOptions
        trainCache = EvaluationCache(system: system, queries: train, timings: timings)
        testCache = EvaluationCache(system: system, queries: test, timings: timings)
        trainReferenceRewards = try CachedBatchSource.referenceRewards(
            cache: trainCache, reference: RAGTuningEnvironment.defaultConfiguration, weights: setup.reward.weights)
        robustScaling = nil
        if environmentOptions.robustContext == true { robustScaling = try metricSpread() }
    }

    /// What the service metrics span on the train split: each grid configuration's figures in
    /// each category, as ``ContextFeatures`` scales them.
    func metricSpread() throws -> ContextFeatures.RobustScaling? {
        let weights = setup.reward.weights
        let workspace = trainCache.makeWorkspace()
        let samples = try grid.flatMap { c in
            try trainCache.evaluate(c, reward: setup.reward, workspace: workspace).perCategory.values.map { m in
                [m.faithfulness, m.relevancy, m.latencyP50Milliseconds / weights.latencyTargetMilliseconds,
                 m.latencyP95Milliseconds / weights.latencyTargetMilliseconds, m.costUSD / weights.costReferenceUSD]
            }
        }
        return ContextFeatures.RobustScaling(samples: samples)
    }

    /// Every static configuration of the grid the run may choose from: the action bounds' grid,
    /// with any frozen head at its default.
    public var grid: [RAGSettings] {
        var seen = Set<RAGSettings>()
        return ConfigurationGrid.configurations(setup.policy.actions, rerankAvailable: system.reranker != nil)
            .map { RAGTuningEnvironment.freezing(environmentOptions.frozenHeads ?? [], in: $0) }
            .filter { seen.insert($0).inserted }
    }

    public struct UnknownHead: Error, CustomStringConvertible {
        public var name: String
        public var description: String { "no head '\(name)' to freeze; the heads are \(RAGTuningEnvironment.heads.joined(separator: ", "))" }
    }

    /// The stage times both splits charge, by question id: what the run keeps.
    public var timings: StageTimings { trainCache.timings.merging(testCache.timings) }

    public func environment(seed: UInt64) -> RAGTuningEnvironment {
        RAGTuningEnvironment(
            source: CachedBatchSource(cache: trainCache, referenceRewards: trainReferenceRewards), reward: setup.reward,
            actions: setup.policy.actions, options: environmentOptions, robust: robustScaling, seed: seed)
    }

    /// Environment i of a run seeded with `seed` (the same for a fresh run and a resumed one).
    public func environments(seed: UInt64) -> (Int) -> RAGTuningEnvironment {
        { [self] i in environment(seed: seed &* 1_000_003 &+ UInt64(i)) }
    }

    public func trainer(_ configuration: PPOConfiguration) throws -> PPOTrainer<RAGTuningEnvironment> {
        try PPOTrainer(configuration: configuration, makeEnvironment: environments(seed: configuration.seed))
    }

    /// The categories whose gates no grid configuration meets on the train split, said before
    /// training (``ConfigurationGrid/unmetGates(_:)``).
    public func unmetGates() throws -> [ConfigurationGrid.UnmetGates] {
        let workspace = trainCache.makeWorkspace()
        return ConfigurationGrid.unmetGates(try grid.map { try trainCache.evaluate($0, reward: setup.reward, workspace: workspace) })
    }

    /// Per-query reward (``PolicyConfiguration/RewardWeights/queryReward``): what a paired
    /// bootstrap over queries can resample.
    public func queryReward(_ o: QueryOutcome) -> Double {
        setup.reward.weights.queryReward(faithfulness: o.faithfulness, relevancy: o.relevancy,
                                         latencyMilliseconds: o.latencyMilliseconds, costUSD: o.costUSD)
    }

    /// The policy's configuration for each of `categories` it trained on, from the observation an
    /// episode starts with.
    public func proposedConfigurations(_ policy: Policy, categories: [String]) -> [String: RAGSettings] {
        let probe = environment(seed: 0)
        var chosen: [String: RAGSettings] = [:]
        for name in trainCache.categories + categories.filter({ !trainCache.categories.contains($0) }) {
            guard let c = trainCache.categories.firstIndex(of: name) else { continue }
            let action = policy.deterministicAction(probe.initialObservation(category: c))
            chosen[name] = probe.configuration(for: policy.actionSpace.environmentValues(action))
        }
        return chosen
    }

    /// What a policy's configurations score on the whole train split: each category's reward
    /// under its own gates (the environment's reward), weighted by the category's share of the
    /// split. Deterministic, so a resumed run scores an update as the uninterrupted run did.
    public func trainReward(_ policy: Policy) throws -> Double { try trainScore(policy).reward }

    /// ``trainReward(_:)`` with the report it is computed from (latency, cost and gates per category).
    public func trainScore(_ policy: Policy) throws -> (reward: Double, report: BatchReport) {
        let categories = trainCache.categories
        let chosen = proposedConfigurations(policy, categories: categories)
        let outcomes = try Self.outcomes(trainCache) { chosen[$0]! }
        let report = BatchReport(
            configuration: RAGTuningEnvironment.defaultConfiguration, outcomes: outcomes,
            categories: (0..<outcomes.count).map { trainCache.categoryIndex(at: $0) }, categoryNames: categories, reward: setup.reward)
        // Summed in the categories' order, not the dictionary's (which differs between processes),
        // so the score is the same to the last bit in a resumed run.
        let reward = categories.compactMap { report.perCategory[$0] }.reduce(0) { $0 + Double($1.n) * $1.reward.reward } / Double(outcomes.count)
        return (reward, report)
    }

    /// Every cached query answered with the configuration `choose` gives its category.
    static func outcomes(_ cache: EvaluationCache, _ choose: (String) -> RAGSettings) throws -> [QueryOutcome] {
        let workspace = cache.makeWorkspace()
        return try (0..<cache.queries.count).map { i in
            try cache.outcome(at: i, configuration: choose(cache.categories[cache.categoryIndex(at: i)]), workspace: workspace)
        }
    }

    public func verdict(policy: Policy, bootstrap: Bootstrap = Bootstrap()) throws -> Verdict {
        let reward = setup.reward
        let categories = testCache.categories
        let grid = self.grid
        let workspace = trainCache.makeWorkspace()
        let trainReports = try grid.map { try trainCache.evaluate($0, reward: reward, workspace: workspace) }
        let bestStatic = ConfigurationGrid.best(trainReports)!.configuration
        let specialisation = try Specialisation(cache: trainCache, grid: grid, shared: bestStatic, reward: reward, queryReward: queryReward,
                                                bootstrap: bootstrap)
        // The oracle and the policy answer to the same rule: a category's own configuration only
        // with evidence, the shared one otherwise (and for a category train never saw).
        let everyCategory = trainCache.categories + categories.filter { !trainCache.categories.contains($0) }
        var oracleConfigurations: [String: RAGSettings] = [:]
        for name in everyCategory { oracleConfigurations[name] = specialisation.evidence(for: name).map { $0.specialised ? $0.own : bestStatic } ?? bestStatic }
        let proposed = proposedConfigurations(policy, categories: trainCache.categories)
        var chosen: [String: RAGSettings] = [:]
        for name in everyCategory {
            guard let own = proposed[name] else {
                chosen[name] = bestStatic
                continue
            }
            let ownReward = try trainCache.evaluate(own, reward: reward, workspace: workspace).perCategory[name]?.reward.reward ?? -.infinity
            chosen[name] = specialisation.serves(name, proposed: own, proposedReward: ownReward)
        }
        let oracleTrainReward = try trainCache.categories.map { name -> Double in
            let summary = try trainCache.evaluate(oracleConfigurations[name]!, reward: reward, workspace: workspace).perCategory[name]!
            return Double(summary.n) * summary.reward.reward
        }.reduce(0, +) / Double(trainCache.queries.count)

        func outcomes(_ choose: (String) -> RAGSettings) throws -> [QueryOutcome] { try Self.outcomes(testCache, choose) }
        let policyOutcomes = try outcomes { chosen[$0]! }
        let defaultOutcomes = try outcomes { _ in RAGTuningEnvironment.defaultConfiguration }
        let bestOutcomes = try outcomes { _ in bestStatic }
        let oracleOutcomes = try outcomes { oracleConfigurations[$0]! }
        let categoryIndices = (0..<testCache.queries.count).map { testCache.categoryIndex(at: $0) }
        func gain(_ baseline: [QueryOutcome]) -> BootstrapInterval {
            bootstrap.pairedDifference(policyOutcomes.map(queryReward), baseline.map(queryReward))
        }
        func mean(_ outcomes: [QueryOutcome]) -> Double { outcomes.reduce(0) { $0 + queryReward($1) } / Double(outcomes.count) }
        let policyReport = BatchReport(
            configuration: RAGTuningEnvironment.defaultConfiguration, outcomes: policyOutcomes, categories: categoryIndices,
            categoryNames: categories, reward: reward)
        return Verdict(
            policyConfigurations: chosen.filter { categories.contains($0.key) },
            policy: policyReport.overall,
            defaultStatic: MetricsSummary(defaultOutcomes, reward: reward),
            bestStatic: MetricsSummary(bestOutcomes, reward: reward),
            bestStaticConfiguration: bestStatic,
            oracle: MetricsSummary(oracleOutcomes, reward: reward),
            oracleConfigurations: oracleConfigurations.filter { categories.contains($0.key) },
            gainVersusDefault: gain(defaultOutcomes),
            gainVersusBestStatic: gain(bestOutcomes),
            gainVersusOracle: gain(oracleOutcomes),
            queryRewards: QueryRewards(
                policy: mean(policyOutcomes), defaultStatic: mean(defaultOutcomes), bestStatic: mean(bestOutcomes), oracle: mean(oracleOutcomes)),
            oracleTrainReward: oracleTrainReward,
            gateViolations: policyReport.perCategory.filter { !$0.value.gatesPassed }.map(\.key).sorted(),
            unattainableGateCategories: specialisation.evidence.filter { !$0.feasible }.map(\.category).sorted(),
            specialisation: specialisation, proposedConfigurations: proposed,
            sharedCategories: trainCache.categories.filter { chosen[$0] == bestStatic },
            policyOutcomes: policyOutcomes,
            policyOutcomeConfigurations: (0..<testCache.queries.count).map { chosen[categories[testCache.categoryIndex(at: $0)]]! })
    }
}
