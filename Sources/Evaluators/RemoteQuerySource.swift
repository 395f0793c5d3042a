import Foundation
import NumericCore
import Pipeline
import Scoring
import Synchronization
import TunerPolicy

/// Where the per-question results a run has paid for are kept, so that no (evaluator, question,
/// configuration) is asked for twice — across batches, runs and `--resume`. Tracking's
/// `QueryResultStore` keeps them in SQLite.
public protocol ResultStore: Sendable {
    /// The kept results of `configuration` (``RemoteQuerySource/key(_:)``) for `ids`, by id.
    func results(evaluator: String, configuration: String, ids: [String]) throws -> [String: EvaluatorProtocol.QueryResult]
    func save(evaluator: String, configuration: String, results: [EvaluatorProtocol.QueryResult]) throws
}

/// The tuning environment's batches from an evaluator that answers per question
/// (`GET /tuner/evaluator` describes it): the tuner names the questions, keeps every answer, and
/// asks only for what it has not paid for.
///
/// Each category's batches are drawn from a fixed pool of its train questions (common random
/// numbers: configurations are compared on the same questions, and a configuration costs at most
/// its pool once). Fusion weights are rounded to `fusionStep`, so nearby proposals share results.
/// The learner is paid a batch's reward less the default configuration's mean per-query reward on
/// the same questions, plus its mean over the pool (the input-dependent baseline of
/// ``CachedBatchSource``). Requests for one batch go out `concurrency` at a time over the
/// endpoints, each with its own circuit breaker; an endpoint whose circuit is open is skipped.
///
/// The calls block their thread (PPO's environments are synchronous): run the trainer with
/// ``runOnOwnThread(_:)``.
public final class RemoteQuerySource: BatchSource, Sendable {
    public let evaluators: [RemoteEvaluator]
    public let description: EvaluatorProtocol.Description
    public let split: String
    public let categories: [String]
    /// The train questions of each category that batches are drawn from.
    public let pools: [[String]]
    public let corpusDocuments: Int
    public let canRerank = true
    public let ledger: EvaluationLedger
    public let store: (any ResultStore)?
    public let concurrency: Int
    public let fusionStep: Double
    /// `dataset@version`: the key results are kept under.
    public let evaluatorKey: String
    private let kept = Mutex<[String: [String: EvaluatorProtocol.QueryResult]]>([:])
    private let failure = Mutex<(any Error)?>(nil)
    private let nextEndpoint = Atomic<Int>(0)

    /// `poolSize`: questions per category that tuning draws from (nil: all of the category's).
    public init(evaluators: [RemoteEvaluator], description: EvaluatorProtocol.Description, split: String = "train", poolSize: Int? = nil,
                seed: UInt64 = 0, corpusDocuments: Int, ledger: EvaluationLedger, store: (any ResultStore)?, concurrency: Int = 1,
                fusionStep: Double = 0.05) throws {
        precondition(!evaluators.isEmpty && concurrency >= 1 && fusionStep > 0, "a query source needs an endpoint, concurrency ≥ 1, a positive fusion step")
        self.evaluators = evaluators
        self.description = description
        self.split = split
        let byCategory = try description.categories(of: split)
        categories = byCategory.keys.sorted()
        var rng = RandomGenerator(seed: seed)
        pools = categories.map { category in
            var ids = byCategory[category]!.sorted()
            rng.shuffle(&ids)
            return poolSize.map { Array(ids.prefix($0)) } ?? ids
        }
        self.corpusDocuments = corpusDocuments
        self.ledger = ledger
        self.store = store
        self.concurrency = concurrency
        self.fusionStep = fusionStep
        evaluatorKey = "\(description.dataset)@\(description.version)"
    }

    public var lastFailure: (any Error)? { failure.withLock { $0 } }

    public func canonical(_ c: RAGSettings) -> RAGSettings {
        var c = c
        c.fusionWeight = c.variant.usesFusionWeight ? min(max((c.fusionWeight / fusionStep).rounded() * fusionStep, 0), 1) : 0.5
        return c
    }

    /// The key a configuration's results are kept under: its canonical settings as sorted JSON.
    public func key(_ c: RAGSettings) -> String {
        String(decoding: (try? JSONEncoder.sorted.encode(canonical(c))) ?? Data(), as: UTF8.self)
    }

    public func score(_ c: RAGSettings, category: Int, size: Int, reward: RewardFunction, using rng: inout RandomGenerator) throws -> BatchScore {
        var pool = pools[category]
        rng.shuffle(&pool)
        let ids = Array(pool.prefix(size))
        do {
            let results = try self.results(c, split: split, ids: ids)
            let reference = try self.results(RAGSettings(), split: split, ids: pools[category])
            let referenceByID = Dictionary(uniqueKeysWithValues: reference.map { ($0.id, $0) })
            let queryReward = { (r: EvaluatorProtocol.QueryResult) in
                reward.weights.queryReward(faithfulness: r.faithfulness, relevancy: r.relevancy, latencyMilliseconds: r.latencyMilliseconds, costUSD: r.costUSD)
            }
            var score = BatchScore(MetricsSummary(Self.outcomes(results), reward: reward))
            let batchBaseline = ids.reduce(0) { $0 + queryReward(referenceByID[$1]!) } / Double(ids.count)
            let poolBaseline = reference.reduce(0) { $0 + queryReward($1) } / Double(reference.count)
            score.learningReward = score.reward - batchBaseline + poolBaseline
            return score
        } catch {
            failure.withLock { $0 = error }
            throw error
        }
    }

    /// The default configuration over every pool: what the environment starts from.
    public func overall(_ c: RAGSettings, reward: RewardFunction) throws -> BatchScore {
        BatchScore(MetricsSummary(Self.outcomes(try results(c, split: split, ids: pools.flatMap { $0 })), reward: reward))
    }

    static func outcomes(_ results: [EvaluatorProtocol.QueryResult]) -> [QueryOutcome] {
        results.enumerated().map { i, r in
            QueryOutcome(query: i, faithfulness: r.faithfulness, relevancy: r.relevancy, latencyMilliseconds: r.latencyMilliseconds,
                         costUSD: r.costUSD, failed: r.error, violation: r.violation ?? false)
        }
    }

    /// `configuration`'s results for `ids` of `split`, in their order: kept ones from memory or
    /// the store, the rest asked for (and paid, and kept).
    public func results(_ configuration: RAGSettings, split: String, ids: [String]) throws -> [EvaluatorProtocol.QueryResult] {
        let c = canonical(configuration)
        let key = key(c)
        var known = kept.withLock { $0[key] ?? [:] }
        var missing = ids.filter { known[$0] == nil }
        if !missing.isEmpty, let store {
            let stored = try store.results(evaluator: evaluatorKey, configuration: key, ids: missing)
            known.merge(stored) { a, _ in a }
            missing = missing.filter { known[$0] == nil }
        }
        ledger.reused(ids.count - missing.count)
        if !missing.isEmpty {
            try ledger.reserve(queries: missing.count)
            let fetched = try fetch(c, split: split, ids: missing)
            try store?.save(evaluator: evaluatorKey, configuration: key, results: fetched)
            for r in fetched { known[r.id] = r }
        }
        kept.withLock { $0[key, default: [:]].merge(known) { a, _ in a } }
        return ids.map { known[$0]! }
    }

    /// Asks for `ids`, in chunks spread over the endpoints, `concurrency` requests at a time.
    func fetch(_ c: RAGSettings, split: String, ids: [String]) throws -> [EvaluatorProtocol.QueryResult] {
        let chunkCount = min(max(concurrency, (ids.count + description.maxBatchSize - 1) / description.maxBatchSize), ids.count)
        let chunkSize = (ids.count + chunkCount - 1) / chunkCount
        let chunks = stride(from: 0, to: ids.count, by: chunkSize).map { Array(ids[$0..<min($0 + chunkSize, ids.count)]) }
        let answers = try waitOnThisThread { [self] in
            try await withThrowingTaskGroup(of: (Int, [EvaluatorProtocol.QueryResult]).self) { group in
                var next = 0
                var answers = [[EvaluatorProtocol.QueryResult]](repeating: [], count: chunks.count)
                func launch() {
                    let i = next
                    next += 1
                    group.addTask { (i, try await self.ask(c, split: split, ids: chunks[i])) }
                }
                while next < min(concurrency, chunks.count) { launch() }
                while let (i, results) = try await group.next() {
                    answers[i] = results
                    if next < chunks.count { launch() }
                }
                return answers
            }
        }
        return answers.flatMap { $0 }
    }

    /// One request on the next endpoint whose circuit is not open; an endpoint that is
    /// unreachable or failing (after its own retries) hands the request to the next.
    func ask(_ c: RAGSettings, split: String, ids: [String]) async throws -> [EvaluatorProtocol.QueryResult] {
        let request = EvaluatorProtocol.Request(configuration: c, questions: .init(split: split, ids: ids))
        let first = nextEndpoint.add(1, ordering: .relaxed).oldValue
        var lastError: any Error = CircuitBreaker.Open(peer: "every evaluator", retryAfter: 0)
        for offset in 0..<evaluators.count {
            let evaluator = evaluators[(first + offset) % evaluators.count]
            do {
                let response = try await evaluator.evaluate(request)
                let results = response.queries!
                ledger.paid(queries: results.count, usd: results.reduce(0) { $0 + $1.costUSD })
                return results
            } catch let open as CircuitBreaker.Open {
                lastError = open
            } catch let failure as JSONPost.Failure where failure.isTransient {
                lastError = failure
            }
        }
        throw lastError
    }
}
