import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One JSON POST with the safeguards every outbound call of the tuner needs: a timeout per
/// attempt, bounded retries with exponential backoff on transport errors, 429 and 5xx (other 4xx
/// are the caller's mistake and are not retried), and a limit on the response size.
public struct JSONPost: Sendable {
    public var url: URL
    public var timeout: TimeInterval
    public var maxAttempts: Int
    public var initialBackoff: TimeInterval
    public var maxResponseBytes: Int
    /// Names the service in errors ("judge", "evaluator").
    public var peer: String

    public init(url: URL, peer: String, timeout: TimeInterval = 10, maxAttempts: Int = 3, initialBackoff: TimeInterval = 0.2,
                maxResponseBytes: Int = 1 << 20) {
        self.url = url
        self.peer = peer
        self.timeout = timeout
        self.maxAttempts = max(1, maxAttempts)
        self.initialBackoff = initialBackoff
        self.maxResponseBytes = maxResponseBytes
    }

    public enum Failure: Error, CustomStringConvertible, Equatable {
        case status(peer: String, code: Int, body: String)
        case transport(peer: String, reason: String)
        case responseTooLarge(peer: String, bytes: Int, limit: Int)

        public var description: String {
            switch self {
            case let .status(peer, code, body): "\(peer) answered HTTP \(code): \(body)"
            case let .transport(peer, reason): "\(peer) unreachable: \(reason)"
            case let .responseTooLarge(peer, bytes, limit): "\(peer) response of \(bytes) bytes exceeds the \(limit)-byte limit"
            }
        }

        /// Worth another attempt: the peer may recover.
        public var isTransient: Bool {
            switch self {
            case .transport: true
            case let .status(_, code, _): code == 429 || code >= 500
            case .responseTooLarge: false
            }
        }
    }

    /// Sends `body` (with extra `headers`) and returns the 2xx response body.
    public func send(_ body: Data, headers: [String: String] = [:]) async throws -> Data {
        var request = URLRequest(url: url, timeoutInterval: timeout)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = body
        return try await perform(request)
    }

    /// GETs `url` (a description beside the endpoint) with the same timeout, retries and limit.
    public func get(_ url: URL) async throws -> Data { try await send(method: "GET", to: url) }

    /// Any method to another path of the same service (an API of several endpoints), with the
    /// same timeout, retries and limit; `body` is sent as `contentType`.
    public func send(method: String, to url: URL, body: Data? = nil, contentType: String = "application/json") async throws -> Data {
        var request = URLRequest(url: url, timeoutInterval: timeout)
        request.httpMethod = method
        if let body {
            request.setValue(contentType, forHTTPHeaderField: "Content-Type")
            request.httpBody = body
        }
        return try await perform(request)
    }

    private func perform(_ request: URLRequest) async throws -> Data {
        var lastFailure = Failure.transport(peer: peer, reason: "no attempt made")
        for attempt in 0..<maxAttempts {
            if attempt > 0 {
                try await Task.sleep(nanoseconds: UInt64(initialBackoff * pow(2, Double(attempt - 1)) * 1e9))
            }
            let data: Data
            let response: URLResponse
            do {
                (data, response) = try await session.data(for: request)
            } catch {
                lastFailure = .transport(peer: peer, reason: error.localizedDescription)
                continue
            }
            guard data.count <= maxResponseBytes else { throw Failure.responseTooLarge(peer: peer, bytes: data.count, limit: maxResponseBytes) }
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            guard (200..<300).contains(status) else {
                let failure = Failure.status(peer: peer, code: status, body: String(decoding: data.prefix(300), as: UTF8.self))
                if failure.isTransient {
                    lastFailure = failure
                    continue
                }
                throw failure
            }
            return data
        }
        throw lastFailure
    }

    private var session: URLSession {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout
        return URLSession(configuration: configuration)
    }
}
