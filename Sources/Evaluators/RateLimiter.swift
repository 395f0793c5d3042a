import Foundation
import Synchronization

/// A token bucket: at most `burst` calls at once, refilled at `ratePerSecond`; `acquire` waits
/// for a token, so callers are spaced out rather than refused.
public final class RateLimiter: Sendable {
    public let ratePerSecond: Double
    public let burst: Double
    private let now: @Sendable () -> Double
    private struct Bucket {
        var tokens: Double
        var updated: Double
    }
    private let bucket: Mutex<Bucket>

    public init(ratePerSecond: Double, burst: Double = 1,
                now: @escaping @Sendable () -> Double = { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }) {
        precondition(ratePerSecond > 0 && burst >= 1, "rate limiter: rate must be positive and burst at least 1")
        self.ratePerSecond = ratePerSecond
        self.burst = burst
        self.now = now
        bucket = Mutex(Bucket(tokens: burst, updated: now()))
    }

    /// Takes a token, waiting until one is available.
    public func acquire() async throws {
        while true {
            let wait = reserve()
            if wait <= 0 { return }
            try await Task.sleep(nanoseconds: UInt64(wait * 1e9))
        }
    }

    /// Takes a token and returns 0, or returns the seconds until one will be available.
    public func reserve() -> Double {
        let t = now()
        return bucket.withLock { b in
            b.tokens = min(burst, b.tokens + (t - b.updated) * ratePerSecond)
            b.updated = t
            if b.tokens >= 1 {
                b.tokens -= 1
                return 0
            }
            return (1 - b.tokens) / ratePerSecond
        }
    }
}
