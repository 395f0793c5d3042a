import NumericCore
import Scoring
import TunerPolicy

/// What the tuning environment learns from: the categories of questions, and the metrics of a
/// batch of one category's questions under a configuration. The built-in pipeline answers through
/// the evaluation cache (``CachedBatchSource``); a team's staging service answers over HTTP (the
/// evaluators module's remote source).
public protocol BatchSource {
    var categories: [String] { get }
    var corpusDocuments: Int { get }
    /// Whether configurations with re-ranking can be scored.
    var canRerank: Bool { get }
    /// A batch of `size` questions of category `category` (an index into `categories`), drawn
    /// with `rng`, answered with `configuration` and scored with `reward`.
    func score(_ configuration: RAGSettings, category: Int, size: Int, reward: RewardFunction, using rng: inout RandomGenerator) throws -> BatchScore
    /// The metrics of `configuration` over all the questions, as the environment's starting state.
    func overall(_ configuration: RAGSettings, reward: RewardFunction) throws -> BatchScore
    /// The last error `score` threw, kept because the environment can only turn it into a NaN
    /// reward (which stops the trainer).
    var lastFailure: (any Error)? { get }
    /// The configuration as the source evaluates it: a paid source rounds what does not matter
    /// enough to pay for twice, so that its kept results are found again.
    func canonical(_ configuration: RAGSettings) -> RAGSettings
}

extension BatchSource {
    public func canonical(_ configuration: RAGSettings) -> RAGSettings { configuration }
}

/// The part of a batch's metrics the environment uses.
public struct BatchScore: Sendable, Equatable {
    public var faithfulness: Double
    public var relevancy: Double
    public var latencyP50Milliseconds: Double
    public var latencyP95Milliseconds: Double
    public var costUSD: Double
    public var reward: Double
    /// What the learner is paid: `reward`, or `reward` less a baseline that depends only on the
    /// batch's questions (``CachedBatchSource``) — the same optimum, less of the draw's noise.
    public var learningReward: Double

    public init(faithfulness: Double, relevancy: Double, latencyP50Milliseconds: Double, latencyP95Milliseconds: Double, costUSD: Double, reward: Double) {
        self.faithfulness = faithfulness
        self.relevancy = relevancy
        self.latencyP50Milliseconds = latencyP50Milliseconds
        self.latencyP95Milliseconds = latencyP95Milliseconds
        self.costUSD = costUSD
        self.reward = reward
        learningReward = reward
    }

    public init(_ m: MetricsSummary) {
        self.init(faithfulness: m.faithfulness, relevancy: m.relevancy, latencyP50Milliseconds: m.latencyP50Milliseconds,
                  latencyP95Milliseconds: m.latencyP95Milliseconds, costUSD: m.costUSD, reward: m.reward.reward)
    }

    /// The state the environment smooths: F, R, p50, p95, cost.
    public var metrics: [Double] { [faithfulness, relevancy, latencyP50Milliseconds, latencyP95Milliseconds, costUSD] }
}

/// Batches drawn (with replacement) from an evaluation cache's queries of one category.
///
/// Which questions a batch draws moves its reward by more than the difference between good
/// configurations (±0.03 against 0.01–0.03 on SciFact's 100-question batches). Every batch is
/// therefore also answered by a fixed reference configuration, and the learner is paid the
/// batch's reward less the reference's mean per-query reward on those same questions, plus the
/// reference's mean over the whole category: an input-dependent baseline (Mao et al., 2019,
/// "Variance Reduction for Reinforcement Learning in Input-Driven Environments"). It does not
/// depend on the action, so the best configuration for each category is unchanged.
public struct CachedBatchSource: BatchSource {
    public let cache: EvaluationCache
    /// Cache positions of each category's queries.
    let members: [[Int]]
    let workspace: EvaluationCache.Workspace
    /// The reference configuration's per-query reward at each cache position, and its mean over
    /// each category.
    let referenceRewards: [Double]
    let referenceCategoryMeans: [Double]

    /// `referenceRewards`: the reference configuration's per-query reward at each cache position
    /// (``referenceRewards(cache:reference:weights:)``), computed once for all environments.
    public init(cache: EvaluationCache, referenceRewards: [Double]) {
        precondition(referenceRewards.count == cache.queries.count, "one reference reward per cached query")
        self.cache = cache
        members = (0..<cache.categories.count).map { c in (0..<cache.queries.count).filter { cache.categoryIndex(at: $0) == c } }
        workspace = cache.makeWorkspace()
        self.referenceRewards = referenceRewards
        referenceCategoryMeans = members.map { m in m.isEmpty ? 0 : m.reduce(0) { $0 + referenceRewards[$1] } / Double(m.count) }
    }

    public static func referenceRewards(cache: EvaluationCache, reference: RAGSettings, weights: PolicyConfiguration.RewardWeights) throws -> [Double] {
        let workspace = cache.makeWorkspace()
        return try (0..<cache.queries.count).map { i in
            let o = try cache.outcome(at: i, configuration: reference, workspace: workspace)
            return weights.queryReward(faithfulness: o.faithfulness, relevancy: o.relevancy, latencyMilliseconds: o.latencyMilliseconds, costUSD: o.costUSD)
        }
    }

    public var categories: [String] { cache.categories }
    public var corpusDocuments: Int { cache.system.dataset.documents.count }
    public var canRerank: Bool { cache.system.reranker != nil }
    /// The cache only fails for settings the environment never sends (re-ranking without a re-ranker).
    public var lastFailure: (any Error)? { nil }

    public func score(_ c: RAGSettings, category: Int, size: Int, reward: RewardFunction, using rng: inout RandomGenerator) throws -> BatchScore {
        let pool = members[category]
        var outcomes: [QueryOutcome] = []
        outcomes.reserveCapacity(size)
        var referenceTotal = 0.0
        for _ in 0..<size {
            let i = pool[rng.bounded(pool.count)]
            outcomes.append(try cache.outcome(at: i, configuration: c, workspace: workspace))
            referenceTotal += referenceRewards[i]
        }
        var score = BatchScore(MetricsSummary(outcomes, reward: reward))
        score.learningReward = score.reward - referenceTotal / Double(size) + referenceCategoryMeans[category]
        return score
    }

    public func overall(_ c: RAGSettings, reward: RewardFunction) throws -> BatchScore {
        BatchScore(try cache.evaluate(c, reward: reward, workspace: workspace).overall)
    }
}
