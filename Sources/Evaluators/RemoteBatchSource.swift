import Dispatch
import Foundation
import NumericCore
import Pipeline
import Scoring
import Synchronization
import TunerPolicy

/// The tuning environment's batches from a remote evaluator (`tuner train --evaluator URL`): each
/// batch is one `POST /tuner/evaluate` for one category, seeded from the environment's stream, so
/// a run is reproducible against a deterministic evaluator. The categories are the ones the
/// evaluator reports for a probe batch of the split. This is the path for an evaluator that
/// answers aggregates only; one that answers per question gets ``RemoteQuerySource``.
///
/// The calls block their thread until the answer (PPO's environments are synchronous): run the
/// trainer on a thread of its own, not on Swift's cooperative pool.
public struct RemoteBatchSource: BatchSource, Sendable {
    public let evaluator: RemoteEvaluator
    public let split: String
    public let categories: [String]
    public let corpusDocuments: Int
    /// The evaluator says with a 400 when it cannot re-rank; the tuner does not know beforehand.
    public let canRerank = true
    let probeSize: Int
    /// The probe batch's overall metrics: the default configuration on the split, which every
    /// environment starts from (asked once, not once per environment).
    let probe: EvaluatorProtocol.Metrics
    public let ledger: EvaluationLedger
    private let failure = FailureBox()

    final class FailureBox: Sendable {
        let error = Mutex<(any Error)?>(nil)
    }

    public var lastFailure: (any Error)? { failure.error.withLock { $0 } }

    /// Asks the evaluator for a probe batch of `probeSize` queries of `split` to learn its categories.
    public init(evaluator: RemoteEvaluator, split: String = "train", probeSize: Int = 1000, corpusDocuments: Int,
                ledger: EvaluationLedger = EvaluationLedger()) throws {
        self.evaluator = evaluator
        self.split = split
        self.probeSize = probeSize
        self.corpusDocuments = corpusDocuments
        self.ledger = ledger
        let response = try Self.probe(evaluator, split: split, size: probeSize, ledger: ledger)
        probe = response.overall
        categories = response.perCategory.keys.sorted()
    }

    /// The default configuration on a seeded batch of `size` questions of `split`, which says the
    /// split's categories.
    static func probe(_ evaluator: RemoteEvaluator, split: String, size: Int, ledger: EvaluationLedger) throws -> EvaluatorProtocol.Response {
        let response = try paid(evaluator, .init(configuration: RAGSettings().configuration, batch: .init(size: size, split: split, seed: 0)), ledger: ledger)
        guard !response.perCategory.isEmpty else { throw RemoteEvaluator.Failure.malformed("the probe batch of split '\(split)' reported no categories") }
        return response
    }

    public func score(_ c: RAGSettings, category: Int, size: Int, reward: RewardFunction, using rng: inout RandomGenerator) throws -> BatchScore {
        let request = EvaluatorProtocol.Request(
            configuration: c.configuration, batch: .init(size: size, split: split, seed: rng.next(), category: categories[category]))
        do {
            return Self.score(try Self.paid(evaluator, request, ledger: ledger).overall, reward: reward)
        } catch {
            failure.error.withLock { $0 = error }
            throw error
        }
    }

    public func overall(_ c: RAGSettings, reward: RewardFunction) throws -> BatchScore {
        if c == RAGSettings() { return Self.score(probe, reward: reward) }
        let request = EvaluatorProtocol.Request(configuration: c.configuration, batch: .init(size: probeSize, split: split, seed: 0))
        return Self.score(try Self.paid(evaluator, request, ledger: ledger).overall, reward: reward)
    }

    /// One request, reserved against the budget before it is sent and recorded once answered.
    static func paid(_ evaluator: RemoteEvaluator, _ request: EvaluatorProtocol.Request, ledger: EvaluationLedger) throws -> EvaluatorProtocol.Response {
        try ledger.reserve(queries: request.batch?.size ?? request.questions?.ids.count ?? 0)
        let response = try waitOnThisThread { try await evaluator.evaluate(request) }
        ledger.paid(queries: response.overall.n, usd: response.overall.costUSD * Double(response.overall.n))
        return response
    }

    static func score(_ m: EvaluatorProtocol.Metrics, reward: RewardFunction) -> BatchScore {
        BatchScore(faithfulness: m.faithfulness, relevancy: m.relevancy, latencyP50Milliseconds: m.latencyP50Milliseconds,
                   latencyP95Milliseconds: m.latencyP95Milliseconds, costUSD: m.costUSD, reward: m.reward(reward).reward)
    }
}

/// Runs `work` on a thread of its own and waits for it without holding one of Swift's
/// cooperative threads: what a trainer on a ``RemoteBatchSource`` needs, since its blocking calls
/// wait for tasks on that pool.
public func runOnOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        let thread = Thread {
            do { continuation.resume(returning: try work()) } catch { continuation.resume(throwing: error) }
        }
        thread.stackSize = 8 << 20
        thread.start()
    }
}

/// Waits on this thread for `work`, run as a task: how the synchronous environments call the
/// async evaluator client. Never call it from Swift's cooperative pool (see ``runOnOwnThread(_:)``).
public func waitOnThisThread<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
    let done = DispatchSemaphore(value: 0)
    let result = Mutex<Result<T, any Error>?>(nil)
    Task {
        let outcome: Result<T, any Error>
        do { outcome = .success(try await work()) } catch { outcome = .failure(error) }
        result.withLock { $0 = outcome }
        done.signal()
    }
    done.wait()
    return try result.withLock { $0! }.get()
}
