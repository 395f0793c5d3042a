import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A judge a team runs elsewhere (an LLM judge, say), called over HTTP.
///
/// Request: `POST url` with `{"items": [{"question": …, "contexts": […], "answer": …}, …]}`.
/// Response: `{"scores": [{"faithfulness": f, "relevancy": r}, …]}`, one per item, each in [0, 1].
/// Every call has a timeout; connection failures, 429 and 5xx are retried a bounded number of
/// times with exponential backoff; responses over the size limit, of the wrong length, or with a
/// score that is missing, not a number, NaN or outside [0, 1] are refused with an error that
/// names the item and the field.
public struct HTTPJudge: Judge {
    public var name: String
    /// The call, with its timeout, retries and size limit.
    public var post: JSONPost

    public init(
        url: URL, name: String = "http-judge", timeout: TimeInterval = 10, maxAttempts: Int = 3,
        initialBackoff: TimeInterval = 0.2, maxResponseBytes: Int = 1 << 20
    ) {
        self.name = name
        post = JSONPost(url: url, peer: "judge", timeout: timeout, maxAttempts: maxAttempts, initialBackoff: initialBackoff,
                        maxResponseBytes: maxResponseBytes)
    }

    /// What a judge's answer got wrong (transport and HTTP failures are ``JSONPost/Failure``).
    public enum Failure: Error, CustomStringConvertible, Equatable {
        case malformed(String)
        case invalidScore(item: Int, field: String, value: String)

        public var description: String {
            switch self {
            case .malformed(let reason): "judge response malformed: \(reason)"
            case .invalidScore(let item, let field, let value): "judge score '\(field)' of item \(item) is \(value), expected a number in [0, 1]"
            }
        }
    }

    public func score(_ requests: [JudgeRequest]) async throws -> [JudgeScores] {
        guard !requests.isEmpty else { return [] }
        let body = try JSONSerialization.data(withJSONObject: [
            "items": requests.map { ["question": $0.question, "contexts": $0.contexts, "answer": $0.answer] as [String: Any] },
        ])
        return try Self.decode(try await post.send(body), expected: requests.count)
    }

    private struct Response: Decodable {
        struct Item: Decodable {
            var faithfulness: Double
            var relevancy: Double
        }
        var scores: [Item]
    }

    static func decode(_ data: Data, expected: Int) throws -> [JudgeScores] {
        let response: Response
        do {
            response = try JSONDecoder().decode(Response.self, from: data)
        } catch let error as DecodingError {
            throw Self.failure(error)
        }
        guard response.scores.count == expected else { throw Failure.malformed("\(response.scores.count) scores for \(expected) items") }
        return try response.scores.enumerated().map { index, item in
            for (field, x) in [("faithfulness", item.faithfulness), ("relevancy", item.relevancy)] {
                guard x.isFinite, (0...1).contains(x) else { throw Failure.invalidScore(item: index, field: field, value: "\(x)") }
            }
            return JudgeScores(faithfulness: item.faithfulness, relevancy: item.relevancy)
        }
    }

    /// Names the item and field a decoding error is about.
    private static func failure(_ error: DecodingError) -> Failure {
        func item(_ path: [CodingKey]) -> Int? { path.count >= 2 && path[0].stringValue == "scores" ? path[1].intValue : nil }
        switch error {
        case .keyNotFound(let key, let context):
            if let index = item(context.codingPath) { return .invalidScore(item: index, field: key.stringValue, value: "missing") }
            return .malformed("no '\(key.stringValue)' field")
        case .valueNotFound(_, let context), .typeMismatch(_, let context):
            if let index = item(context.codingPath), let field = context.codingPath.last?.stringValue, context.codingPath.count == 3 {
                return .invalidScore(item: index, field: field, value: error.isNull ? "null" : "not a number")
            }
            return .malformed("'\(context.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type")
        case .dataCorrupted:
            return .malformed("not valid JSON")
        @unknown default:
            return .malformed("\(error)")
        }
    }
}

private extension DecodingError {
    var isNull: Bool { if case .valueNotFound = self { true } else { false } }
}
