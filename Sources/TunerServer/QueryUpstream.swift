import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Evaluators
import TunerPolicy

/// How the proxies reach a RAG service's `POST /query`: one ephemeral session (no shared cache or
/// cookies) whose requests give up after `timeout` seconds.
struct QueryUpstream: Sendable {
    private let session: URLSession

    init(timeout: TimeInterval) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        session = URLSession(configuration: configuration)
    }

    /// Posts a `/query` body to the service at `base`, with the request id and, when given, the
    /// configuration to answer with (`X-RAG-Configuration`); returns the status and body as they came.
    func query(_ body: Data, at base: URL, requestID: String?, configuration: Configuration? = nil) async throws -> (status: Int, body: Data) {
        var request = URLRequest(url: base.appendingPathComponent("query"))
        request.httpMethod = "POST"
        request.httpBody = body
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let requestID { request.setValue(requestID, forHTTPHeaderField: "X-Request-ID") }
        if let configuration {
            request.setValue(String(decoding: try JSONEncoder().encode(configuration), as: UTF8.self), forHTTPHeaderField: TunerServer.configurationHeader.rawName)
        }
        let (data, response) = try await session.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 502, data)
    }
}

/// What the proxies read of a service's `/query` answer — `tuner serve`'s or any service's that
/// answers in its shape (docs/openapi.yaml, `Answer`): the answer, the configuration it was
/// given, its latency and cost, and the judgement shadow and canary compare by.
struct ServiceAnswer: Decodable {
    var answer: String
    var configuration: Configuration
    var latencyMilliseconds: Double
    var costUSD: Double
    var judgement: TunerServer.Judgement?

    enum CodingKeys: String, CodingKey {
        case answer, configuration, judgement
        case latencyMilliseconds = "latency_ms"
        case costUSD = "cost_usd"
    }

    /// Decodes and checks the numbers the comparisons use: a service's answer is input to the
    /// proxy, and a score outside its range would count as a judgement.
    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        answer = try c.decode(String.self, forKey: .answer)
        configuration = try c.decode(Configuration.self, forKey: .configuration)
        latencyMilliseconds = try c.decode(Double.self, forKey: .latencyMilliseconds)
        costUSD = try c.decode(Double.self, forKey: .costUSD)
        judgement = try c.decodeIfPresent(TunerServer.Judgement.self, forKey: .judgement)
        for (key, name, value, range) in [(CodingKeys.latencyMilliseconds, "", latencyMilliseconds, 0.0...3_600_000), (.costUSD, "", costUSD, 0...1_000),
                                          (.judgement, "faithfulness ", judgement?.faithfulness ?? 0, 0...1), (.judgement, "relevancy ", judgement?.relevancy ?? 0, 0...1)]
            where !range.contains(value) {
            throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "\(name)is \(value), expected a number in \(range.lowerBound)...\(range.upperBound)")
        }
    }

    /// The answer as shadow and canary compare it; nil without a judgement. Its latency is the
    /// answer's own, or the time the caller waited for it when longer.
    func observation(waitedMilliseconds: Double = 0) -> ShadowComparison.Observation? {
        guard let judgement else { return nil }
        return .init(faithfulness: judgement.faithfulness, relevancy: judgement.relevancy,
                     latencyMilliseconds: max(latencyMilliseconds, waitedMilliseconds), costUSD: costUSD, failed: answer.isEmpty)
    }
}
