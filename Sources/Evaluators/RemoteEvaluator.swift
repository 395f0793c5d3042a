import Foundation
import NumericCore
import Scoring
import TunerPolicy

/// A client of the evaluator protocol on another service (`POST {url}/tuner/evaluate`): every
/// call has a timeout and bounded retries (``JSONPost``), passes a circuit breaker and a rate
/// limiter, and the answer is checked — every metric finite and in range — before the trainer
/// sees it.
public struct RemoteEvaluator: Sendable {
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
                breaker: CircuitBreaker? = nil) {
        endpoint = baseURL.appendingPathComponent("tuner").appendingPathComponent("evaluate")
        post = JSONPost(url: endpoint, peer: "evaluator \(baseURL.absoluteString)", timeout: timeout, maxAttempts: maxAttempts,
                        maxResponseBytes: 4 << 20)
        self.breaker = breaker ?? CircuitBreaker(peer: "evaluator \(baseURL.absoluteString)")
        limiter = RateLimiter(ratePerSecond: requestsPerSecond, burst: max(1, requestsPerSecond / 10))
    }

    public func evaluate(_ request: EvaluatorProtocol.Request) async throws -> EvaluatorProtocol.Response {
        let body = try JSONEncoder.sorted.encode(request)
        // The breaker first: an open circuit fails at once and spends no token.
        let data = try await breaker.run {
            try await limiter.acquire()
            return try await post.send(body)
        }
        let response: EvaluatorProtocol.Response
        do {
            response = try JSONDecoder().decode(EvaluatorProtocol.Response.self, from: data)
        } catch {
            throw Failure.malformed("\(error)")
        }
        if let reason = response.overall.validationFailure(in: "overall") { throw Failure.malformed(reason) }
        for (category, metrics) in response.perCategory {
            if let reason = metrics.validationFailure(in: "per_category.\(category)") { throw Failure.malformed(reason) }
        }
        return response
    }
}
