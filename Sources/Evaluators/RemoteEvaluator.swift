import ConfigurationFiles
import Foundation
import NumericCore
import Scoring
import TunerPolicy

/// A client of the evaluator protocol on another service (`{url}/tuner/evaluate`,
/// `{url}/tuner/evaluator`): every call has a timeout and bounded retries (``JSONPost``), passes
/// a circuit breaker and a rate limiter (which several endpoints may share), and the answer is
/// checked — every metric finite and in range — before the trainer sees it.
public struct RemoteEvaluator: Sendable {
    public let baseURL: URL
    public let endpoint: URL
    public let post: JSONPost
    public let breaker: CircuitBreaker
    public let limiter: RateLimiter

    public enum Failure: Error, CustomStringConvertible, Equatable {
        case malformed(String)
        public var description: String {
            switch self {
            case let .malformed(reason): "evaluator answer refused: \(reason)"
            }
        }
    }

    public init(baseURL: URL, timeout: TimeInterval = 30, maxAttempts: Int = 3, requestsPerSecond: Double = 50,
                breaker: CircuitBreaker? = nil, limiter: RateLimiter? = nil) {
        self.baseURL = baseURL
        endpoint = baseURL.appendingPathComponent("tuner").appendingPathComponent("evaluate")
        post = JSONPost(url: endpoint, peer: "evaluator \(baseURL.absoluteString)", timeout: timeout, maxAttempts: maxAttempts,
                        maxResponseBytes: 8 << 20)
        self.breaker = breaker ?? CircuitBreaker(peer: "evaluator \(baseURL.absoluteString)")
        self.limiter = limiter ?? RateLimiter(ratePerSecond: requestsPerSecond, burst: max(1, requestsPerSecond / 10))
    }

    public func evaluate(_ request: EvaluatorProtocol.Request) async throws -> EvaluatorProtocol.Response {
        let response: EvaluatorProtocol.Response = try await decoded(try await call { try await post.send(try JSONEncoder.sorted.encode(request)) })
        if let reason = response.overall.validationFailure(in: "overall") { throw Failure.malformed(reason) }
        for (category, metrics) in response.perCategory {
            if let reason = metrics.validationFailure(in: "per_category.\(category)") { throw Failure.malformed(reason) }
        }
        for (i, query) in (response.queries ?? []).enumerated() {
            if let reason = query.validationFailure(in: "queries[\(i)]") { throw Failure.malformed(reason) }
        }
        if let questions = request.questions {
            guard let queries = response.queries else { throw Failure.malformed("the request named questions, the answer has no per-question records") }
            guard queries.map(\.id) == questions.ids else {
                throw Failure.malformed("the per-question records are not the \(questions.ids.count) questions asked, in their order")
            }
        }
        return response
    }

    /// `GET /tuner/evaluator`; nil when the evaluator has none (404: it answers aggregates only).
    public func describe() async throws -> EvaluatorProtocol.Description? {
        let url = baseURL.appendingPathComponent("tuner").appendingPathComponent("evaluator")
        let data: Data
        do {
            data = try await call { try await post.get(url) }
        } catch let JSONPost.Failure.status(_, code, _) where code == 404 || code == 405 {
            return nil
        }
        let description: EvaluatorProtocol.Description = try decoded(data)
        for (name, gates) in [("gates", description.gates)] + description.categoryGates.sorted(by: { $0.key < $1.key }).map({ ("category_gates.\($0.key)", $0.value) }) {
            do {
                _ = try PolicyConfiguration.GateThresholds().applying(gates.fields, source: "the evaluator's description")
            } catch let error as ConfigurationError {
                throw Failure.malformed("\(name): \(error.reason) (\(error.field))")
            }
        }
        // A question listed twice would be asked for twice in one request (refused) and break
        // the pairing of results by id.
        for (split, categories) in description.splits {
            var seen = Set<String>()
            for (category, ids) in categories.sorted(by: { $0.key < $1.key }) {
                for id in ids where !seen.insert(id).inserted {
                    throw Failure.malformed("splits.\(split).\(category): question '\(id)' is listed twice in the split")
                }
            }
        }
        guard (1...EvaluatorProtocol.maxBatchSize).contains(description.maxBatchSize) else {
            throw Failure.malformed("max_batch_size is \(description.maxBatchSize), expected 1...\(EvaluatorProtocol.maxBatchSize)")
        }
        return description
    }

    /// The breaker first: an open circuit fails at once and spends no token.
    private func call(_ send: @Sendable () async throws -> Data) async throws -> Data {
        try await breaker.run {
            try await limiter.acquire()
            return try await send()
        }
    }

    private func decoded<T: Decodable>(_ data: Data) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw Failure.malformed("\(error)")
        }
    }
}

extension PolicyConfiguration.GateThresholds {
    /// Field name → value, as a manifest writes them.
    var fields: [String: Double] {
        ["faithfulness_min": faithfulnessMin, "relevancy_min": relevancyMin, "latency_p95_max_ms": latencyP95MaxMilliseconds,
         "error_rate_max": errorRateMax]
    }
}
