import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization
import TunerPolicy

/// Replays questions against a RAG endpoint (`POST {target}/query`), or batch evaluations
/// against an evaluator (`POST {target}/tuner/evaluate`, seed i for request i), at a fixed rate,
/// open loop:
/// request i is due at start + i/rate whatever the earlier ones did, at most `concurrency` in
/// flight (a due request that finds them all busy is counted as skipped, not queued), and the run
/// stops at `maxRequests` or `duration`, whichever comes first.
public struct LoadGenerator: Sendable {
    public struct Question: Sendable, Codable {
        public var question: String
        public var category: String?
        public init(question: String, category: String?) {
            self.question = question
            self.category = category
        }
    }

    /// What each request carries.
    public enum Workload: Sendable {
        case questions([Question])
        case evaluations(configuration: RAGSettings, batchSize: Int, split: String)
    }

    public var target: URL
    public var workload: Workload
    public var requestsPerSecond: Double
    public var duration: Double
    public var maxRequests: Int
    public var concurrency: Int
    public var timeout: Double
    /// Sent as `X-RAG-Configuration` with every request when set.
    public var configurationHeader: String?

    public init(target: URL, workload: Workload, requestsPerSecond: Double, duration: Double, maxRequests: Int = .max,
                concurrency: Int = 64, timeout: Double = 10, configurationHeader: String? = nil) {
        precondition(requestsPerSecond > 0 && duration > 0 && concurrency > 0, "load generator: bad parameters")
        if case let .questions(questions) = workload { precondition(!questions.isEmpty, "load generator: no questions") }
        self.target = target
        self.workload = workload
        self.requestsPerSecond = requestsPerSecond
        self.duration = duration
        self.maxRequests = maxRequests
        self.concurrency = concurrency
        self.timeout = timeout
        self.configurationHeader = configurationHeader
    }

    public struct Report: Sendable, Codable {
        public var sent: Int
        public var succeeded: Int
        public var failed: Int
        public var skipped: Int
        public var seconds: Double
        public var achievedRate: Double
        public var latencyP50Milliseconds: Double
        public var latencyP95Milliseconds: Double
        public var latencyP99Milliseconds: Double
        /// Status codes (or "transport") of failed requests and how often.
        public var failures: [String: Int]

        enum CodingKeys: String, CodingKey {
            case sent, succeeded, failed, skipped, seconds, failures
            case achievedRate = "achieved_rps"
            case latencyP50Milliseconds = "latency_p50_ms"
            case latencyP95Milliseconds = "latency_p95_ms"
            case latencyP99Milliseconds = "latency_p99_ms"
        }
    }

    private final class Tally: Sendable {
        struct Counts {
            var latencies: [Double] = []
            var failures: [String: Int] = [:]
            var inFlight = 0
            var skipped = 0
        }
        let counts = Mutex(Counts())
        func withLock<T>(_ body: (inout Counts) -> T) -> T { counts.withLock { body(&$0) } }
    }

    private func makeRequest(_ endpoint: URL, body: Data) -> URLRequest {
        var request = URLRequest(url: endpoint, timeoutInterval: timeout)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let configurationHeader { request.setValue(configurationHeader, forHTTPHeaderField: "X-RAG-Configuration") }
        request.httpBody = body
        return request
    }

    public func run() async -> Report {
        let endpoint: URL
        let body: (Int) -> Data
        switch workload {
        case let .questions(questions):
            endpoint = target.appendingPathComponent("query")
            let bodies = questions.map { try! JSONEncoder().encode($0) }
            body = { bodies[$0 % bodies.count] }
        case let .evaluations(configuration, batchSize, split):
            endpoint = target.appendingPathComponent("tuner").appendingPathComponent("evaluate")
            body = { i in
                try! JSONEncoder().encode(EvaluatorProtocol.Request(
                    configuration: configuration.configuration, batch: .init(size: batchSize, split: split, seed: UInt64(i))))
            }
        }
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.httpMaximumConnectionsPerHost = concurrency
        let session = URLSession(configuration: configuration)
        let tally = Tally()
        let clock = ContinuousClock()
        let start = clock.now
        var sent = 0
        await withTaskGroup(of: Void.self) { group in
            var i = 0
            while i < maxRequests && !Task.isCancelled {
                let due = start + .nanoseconds(Int64(Double(i) / requestsPerSecond * 1e9))
                if due - start >= .nanoseconds(Int64(duration * 1e9)) { break }
                try? await clock.sleep(until: due)
                let admitted = tally.withLock { t -> Bool in
                    guard t.inFlight < concurrency else { t.skipped += 1; return false }
                    t.inFlight += 1
                    return true
                }
                if admitted {
                    sent += 1
                    let request = makeRequest(endpoint, body: body(i))
                    group.addTask {
                        let begin = clock.now
                        let outcome: String?
                        do {
                            let (_, response) = try await session.data(for: request)
                            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                            outcome = (200..<300).contains(status) ? nil : String(status)
                        } catch {
                            outcome = "transport"
                        }
                        let elapsed = clock.now - begin
                        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) * 1e-15
                        tally.withLock { t in
                            t.inFlight -= 1
                            if let outcome { t.failures[outcome, default: 0] += 1 } else { t.latencies.append(milliseconds) }
                        }
                    }
                }
                i += 1
            }
        }
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        return tally.withLock { t in
            let sorted = t.latencies.sorted()
            func percentile(_ p: Double) -> Double { sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, Int(p * Double(sorted.count)))] }
            let failed = t.failures.values.reduce(0, +)
            return Report(
                sent: sent, succeeded: sorted.count, failed: failed, skipped: t.skipped, seconds: seconds,
                achievedRate: Double(sent) / seconds, latencyP50Milliseconds: percentile(0.5), latencyP95Milliseconds: percentile(0.95),
                latencyP99Milliseconds: percentile(0.99), failures: t.failures)
        }
    }
}
