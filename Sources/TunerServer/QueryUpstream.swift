import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
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
    /// settings to answer with (`X-RAG-Configuration`); returns the status and body as they came.
    func query(_ body: Data, at base: URL, requestID: String?, settings: RAGSettings? = nil) async throws -> (status: Int, body: Data) {
        var request = URLRequest(url: base.appendingPathComponent("query"))
        request.httpMethod = "POST"
        request.httpBody = body
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let requestID { request.setValue(requestID, forHTTPHeaderField: "X-Request-ID") }
        if let settings {
            request.setValue(String(decoding: try JSONEncoder().encode(settings), as: UTF8.self), forHTTPHeaderField: TunerServer.configurationHeader.rawName)
        }
        let (data, response) = try await session.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 502, data)
    }
}
