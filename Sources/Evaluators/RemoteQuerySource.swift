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
/// its pool once). Continuous knobs are rounded to `continuousStep` of their range, so nearby
/// proposals share results.
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
    public let continuousStep: Double
    /// The knobs the tuner sets: its own declaration, checked against the evaluator's.
    public let knobs: KnobDeclaration
    /// `dataset@version`: the key results are kept under.
    public let evaluatorKey: String
    private let kept = Mutex<[String: [String: EvaluatorProtocol.QueryResult]]>([:])
    private let failure = Mutex<(any Error)?>(nil)
    private let nextEndpoint = Atomic<Int>(0)

    public enum Failure: Error, CustomStringConvertible {
        case knobs(KnobProblem)
        case noKnobs
        public var description: String {
            switch self {
            case let .knobs(problem): "the tuner's knobs do not fit the evaluator's: \(problem)"
            case .noKnobs: "the evaluator declares no knobs and the tuner was given none: declare them in the policy file (knobs:)"
            }
        }
    }

    /// `poolSize`: questions per category that tuning draws from (nil: all of the category's).
    /// `knobs`: what the tuner sets, within the knobs the evaluator declares; nil: the evaluator's.
    public init(evaluators: [RemoteEvaluator], description: EvaluatorProtocol.Description, knobs: KnobDeclaration? = nil, split: String = "train",
                poolSize: Int? = nil, seed: UInt64 = 0, corpusDocuments: Int, ledger: EvaluationLedger, store: (any ResultStore)?,
                concurrency: Int = 1, continuousStep: Double = 0.05) throws {
        precondition(!evaluators.isEmpty && concurrency >= 1 && continuousStep > 0, "a query source needs an endpoint, concurrency ≥ 1, a positive step")
        guard let declared = knobs ?? description.knobs else { throw Failure.noKnobs }
        if let theirs = description.knobs, let problem = declared.problem(within: theirs) { throw Failure.knobs(problem) }
        self.knobs = declared
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
        self.continuousStep = continuousStep
        evaluatorKey = "\(description.dataset)@\(description.version)"
    }

    public var lastFailure: (any Error)? { failure.withLock { $0 } }

    /// `c` as results are kept under it (``KnobDeclaration/canonical(_:step:)``).
    public func canonical(_ c: Configuration) throws -> Configuration {
        do { return try knobs.canonical(c, step: continuousStep) } catch { throw Failure.knobs(error) }
    }

    /// The built-in pipeline's settings as PPO's environment sees them after rounding.
    public func canonical(_ c: RAGSettings) -> RAGSettings {
        (try? RAGSettings(canonical(c.configuration))) ?? c
    }

    /// The key a configuration's results are kept under: its canonical form as sorted JSON.
    public func key(_ canonical: Configuration) -> String {
        String(decoding: (try? JSONEncoder.sorted.encode(canonical)) ?? Data(), as: UTF8.self)
    }

    public func score(_ c: RAGSettings, category: Int, size: Int, reward: RewardFunction, using rng: inout RandomGenerator) throws -> BatchScore {
        var pool = pools[category]
        rng.shuffle(&pool)
        let ids = Array(pool.prefix(size))
        do {
            let results = try self.results(c.configuration, split: split, ids: ids)
            let reference = try self.results(knobs.defaults, split: split, ids: pools[category])
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

    /// Questions of each pool that the environment's starting state is measured on: its metrics
    /// only seed the observation, so the whole split (thousands of paid answers) would buy nothing.
    public static let startingQuestions = 30

    /// `c` over the first ``startingQuestions`` questions of every pool: what the environment starts from.
    public func overall(_ c: RAGSettings, reward: RewardFunction) throws -> BatchScore {
        BatchScore(MetricsSummary(Self.outcomes(try results(c.configuration, split: split, ids: pools.flatMap { $0.prefix(Self.startingQuestions) })), reward: reward))
    }

    static func outcomes(_ results: [EvaluatorProtocol.QueryResult]) -> [QueryOutcome] {
        results.enumerated().map { i, r in
            QueryOutcome(query: i, faithfulness: r.faithfulness, relevancy: r.relevancy, latencyMilliseconds: r.latencyMilliseconds,
                         costUSD: r.costUSD, failed: r.error, violation: r.violation ?? false)
        }
    }

    /// `configuration`'s results for `ids` of `split`, in their order: kept ones from memory or
    /// the store, the rest asked for (and paid, and kept).
    public func results(_ configuration: Configuration, split: String, ids: [String]) throws -> [EvaluatorProtocol.QueryResult] {
        try results([(configuration, ids)], split: split)[0]
    }

    /// The results of several configurations at once, each for its own questions: what none of
    /// them has kept is asked for together, `concurrency` requests at a time, so a search's round
    /// waits for one slow answer rather than one per configuration.
    public func results(_ requests: [(configuration: Configuration, ids: [String])], split: String) throws -> [[EvaluatorProtocol.QueryResult]] {
        var known: [[String: EvaluatorProtocol.QueryResult]] = []
        var missing: [(configuration: Configuration, ids: [String])] = []
        let canonical = try requests.map { try self.canonical($0.configuration) }
        for ((_, ids), c) in zip(requests, canonical) {
            var have = kept.withLock { $0[key(c)] ?? [:] }
            var absent = ids.filter { have[$0] == nil }
            if !absent.isEmpty, let store {
                have.merge(try store.results(evaluator: evaluatorKey, configuration: key(c), ids: absent)) { a, _ in a }
                absent = absent.filter { have[$0] == nil }
            }
            ledger.reused(ids.count - absent.count)
            known.append(have)
            missing.append((c, Array(Set(absent)).sorted()))
        }
        let total = missing.reduce(0) { $0 + $1.ids.count }
        if total > 0 {
            try ledger.reserve(queries: total)
            let fetched = try fetch(missing.filter { !$0.ids.isEmpty }, split: split)
            var next = fetched.makeIterator()
            for i in missing.indices where !missing[i].ids.isEmpty {
                let answers = next.next()!
                try store?.save(evaluator: evaluatorKey, configuration: key(missing[i].configuration), results: answers)
                for r in answers { known[i][r.id] = r }
            }
        }
        for (i, c) in canonical.enumerated() {
            let have = known[i]
            kept.withLock { $0[key(c), default: [:]].merge(have) { a, _ in a } }
        }
        return requests.enumerated().map { i, request in request.ids.map { known[i][$0]! } }
    }

    /// Asks for each configuration's `ids`, in chunks spread over the endpoints, `concurrency`
    /// requests at a time; the answers come back per configuration, in the order of its ids.
    func fetch(_ requests: [(configuration: Configuration, ids: [String])], split: String) throws -> [[EvaluatorProtocol.QueryResult]] {
        let total = requests.reduce(0) { $0 + $1.ids.count }
        // As many chunks as requests may run at once (or as the size limit needs), each within one configuration.
        var chunks: [(request: Int, ids: [String])] = []
        for (r, request) in requests.enumerated() {
            let share = max(1, Int((Double(concurrency) * Double(request.ids.count) / Double(total)).rounded(.up)))
            let count = min(max(share, (request.ids.count + description.maxBatchSize - 1) / description.maxBatchSize), request.ids.count)
            let size = (request.ids.count + count - 1) / count
            for start in stride(from: 0, to: request.ids.count, by: size) {
                chunks.append((r, Array(request.ids[start..<min(start + size, request.ids.count)])))
            }
        }
        let answers = try waitOnThisThread { [self, chunks] in
            try await withThrowingTaskGroup(of: (Int, [EvaluatorProtocol.QueryResult]).self) { group in
                var next = 0
                var answers = [[EvaluatorProtocol.QueryResult]](repeating: [], count: chunks.count)
                func launch() {
                    let i = next
                    next += 1
                    group.addTask { (i, try await self.ask(requests[chunks[i].request].configuration, split: split, ids: chunks[i].ids)) }
                }
                while next < min(concurrency, chunks.count) { launch() }
                while let (i, results) = try await group.next() {
                    answers[i] = results
                    if next < chunks.count { launch() }
                }
                return answers
            }
        }
        var perRequest = [[EvaluatorProtocol.QueryResult]](repeating: [], count: requests.count)
        for (i, chunk) in chunks.enumerated() { perRequest[chunk.request] += answers[i] }
        return perRequest
    }

    /// One request on the next endpoint whose circuit is not open; an endpoint that is
    /// unreachable or failing (after its own retries) hands the request to the next.
    func ask(_ c: Configuration, split: String, ids: [String]) async throws -> [EvaluatorProtocol.QueryResult] {
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
