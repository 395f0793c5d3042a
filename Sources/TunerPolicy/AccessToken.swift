import Foundation

/// The secret a service's state-changing endpoints (feedback, policy reload) require as
/// `Authorization: Bearer <token>`. Compared in constant time, so response timing tells an
/// attacker nothing about how much of a guess was right, and never printed.
public struct AccessToken: Sendable, CustomStringConvertible {
    private let secret: [UInt8]
    /// Shorter secrets are guessable by brute force over a network.
    public static let minimumLength = 16

    public struct Refusal: Error, CustomStringConvertible {
        public let description: String
    }

    public init(_ text: String) throws {
        guard text.utf8.count >= Self.minimumLength else {
            throw Refusal(description: "the access token is \(text.utf8.count) bytes; it needs at least \(Self.minimumLength)")
        }
        guard text.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            throw Refusal(description: "the access token may hold only printable ASCII without spaces")
        }
        secret = Array(text.utf8)
    }

    /// The token in `url`, one line (a trailing newline is ignored).
    public init(contentsOf url: URL) throws {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw Refusal(description: "cannot read the access token file \(url.path): \(error.localizedDescription)")
        }
        do {
            try self.init(text.hasSuffix("\r\n") ? String(text.dropLast(2)) : text.hasSuffix("\n") ? String(text.dropLast()) : text)
        } catch let refusal as Refusal {
            throw Refusal(description: "\(url.path): \(refusal.description)")
        }
    }

    /// Whether `presented` is the token; the time taken depends only on the token's length.
    public func admits(_ presented: String?) -> Bool {
        let offered = Array((presented ?? "").utf8)
        var difference: UInt8 = offered.count == secret.count ? 0 : 1
        for i in secret.indices {
            difference |= secret[i] ^ (i < offered.count ? offered[i] : 0)
        }
        return difference == 0
    }

    public var description: String { "AccessToken(\(secret.count) bytes, redacted)" }
}
