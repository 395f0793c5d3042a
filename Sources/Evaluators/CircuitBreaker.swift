import Foundation
import Synchronization

/// Stops calling a peer that keeps failing: after `failureThreshold` consecutive failures the
/// circuit opens and calls fail at once for `cooldown` seconds; then one trial call is let
/// through (half-open), and its success closes the circuit, its failure opens it again.
public final class CircuitBreaker: Sendable {
    public enum State: String, Sendable {
        case closed, open, halfOpen = "half-open"
    }

    public struct Open: Error, CustomStringConvertible {
        public let peer: String
        public let retryAfter: Double
        public var description: String {
            "\(peer): circuit open after repeated failures; next trial in \(String(format: "%.1f", retryAfter)) s"
        }
    }

    public let peer: String
    public let failureThreshold: Int
    public let cooldown: Double
    private let now: @Sendable () -> Double
    private struct Status {
        var state = State.closed
        var failures = 0
        var openedAt = 0.0
        var trialInFlight = false
    }
    private let status = Mutex(Status())

    /// `now` returns seconds on a monotonic clock (injectable for tests).
    public init(peer: String, failureThreshold: Int = 5, cooldown: Double = 10,
                now: @escaping @Sendable () -> Double = { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }) {
        self.peer = peer
        self.failureThreshold = max(1, failureThreshold)
        self.cooldown = cooldown
        self.now = now
    }

    public var state: State { status.withLock { $0.state } }

    /// Runs `call` unless the circuit is open.
    public func run<T: Sendable>(_ call: () async throws -> T) async throws -> T {
        try admit()
        do {
            let result = try await call()
            status.withLock { s in
                s = Status()
            }
            return result
        } catch {
            let t = now()
            status.withLock { s in
                s.trialInFlight = false
                s.failures += 1
                if s.state == .halfOpen || s.failures >= failureThreshold {
                    s.state = .open
                    s.openedAt = t
                }
            }
            throw error
        }
    }

    private func admit() throws {
        let t = now()
        try status.withLock { s in
            switch s.state {
            case .closed:
                return
            case .open:
                let waited = t - s.openedAt
                guard waited >= cooldown else { throw Open(peer: peer, retryAfter: cooldown - waited) }
                s.state = .halfOpen
                s.trialInFlight = true
            case .halfOpen:
                guard !s.trialInFlight else { throw Open(peer: peer, retryAfter: 0) }
                s.trialInFlight = true
            }
        }
    }
}
