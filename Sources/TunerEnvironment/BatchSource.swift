import Evaluation
import NumericCore
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
}

/// The part of a batch's metrics the environment uses.
public struct BatchScore: Sendable, Equatable {
    public var faithfulness: Double
    public var relevancy: Double
    public var latencyP50Milliseconds: Double
    public var latencyP95Milliseconds: Double
    public var costUSD: Double
    public var reward: Double

    public init(faithfulness: Double, relevancy: Double, latencyP50Milliseconds: Double, latencyP95Milliseconds: Double, costUSD: Double, reward: Double) {
        self.faithfulness = faithfulness
        self.relevancy = relevancy
        self.latencyP50Milliseconds = latencyP50Milliseconds
        self.latencyP95Milliseconds = latencyP95Milliseconds
        self.costUSD = costUSD
        self.reward = reward
    }

    public init(_ m: MetricsSummary) {
        self.init(faithfulness: m.faithfulness, relevancy: m.relevancy, latencyP50Milliseconds: m.latencyP50Milliseconds,
                  latencyP95Milliseconds: m.latencyP95Milliseconds, costUSD: m.costUSD, reward: m.reward.reward)
    }

    /// The state the environment smooths: F, R, p50, p95, cost.
    var metrics: [Double] { [faithfulness, relevancy, latencyP50Milliseconds, latencyP95Milliseconds, costUSD] }
}

/// Batches drawn (with replacement) from an evaluation cache's queries of one category.
public struct CachedBatchSource: BatchSource {
    public let cache: EvaluationCache
    /// Cache positions of each category's queries.
    let members: [[Int]]
    let workspace: EvaluationCache.Workspace

    public init(cache: EvaluationCache) {
        self.cache = cache
        members = (0..<cache.categories.count).map { c in (0..<cache.queries.count).filter { cache.categoryIndex(at: $0) == c } }
        workspace = cache.makeWorkspace()
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
        for _ in 0..<size { outcomes.append(try cache.outcome(at: pool[rng.bounded(pool.count)], configuration: c, workspace: workspace)) }
        return BatchScore(MetricsSummary(outcomes, reward: reward))
    }

    public func overall(_ c: RAGSettings, reward: RewardFunction) throws -> BatchScore {
        BatchScore(try cache.evaluate(c, reward: reward, workspace: workspace).overall)
    }
}
