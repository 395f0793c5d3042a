import NumericCore
import Synchronization

/// Splits traffic between a baseline and a candidate by a stable hash of a key the service
/// chooses (a user or session id), so a user stays on one arm. The candidate's share can be
/// changed while serving; raising it only moves users from baseline to candidate (a user's
/// bucket is fixed, the threshold moves), and lowering it only moves them back.
///
/// ```swift
/// let split = try TrafficSplit(percentage: 5)
/// split.arm(for: sessionID)        // .baseline or .candidate, the same on every call
/// try split.setPercentage(25)
/// ```
public final class TrafficSplit: Sendable {
    public enum Arm: String, Sendable, Codable, CaseIterable {
        case baseline, candidate
    }

    public enum PercentageError: Error, CustomStringConvertible {
        case outOfRange(Double)
        public var description: String {
            switch self {
            case let .outOfRange(p): "canary percentage \(p) is outside 0...100"
            }
        }
    }

    /// Mixed into the hash so that different experiments split users independently.
    public let salt: String
    private let saltSeed: UInt64
    /// The candidate's share in hundredths of a percent (0...10_000).
    private let share: Atomic<Int>

    public static let buckets = 10_000

    public init(percentage: Double, salt: String = "canary") throws {
        self.salt = salt
        saltSeed = StableHash.hash(salt)
        share = Atomic(try Self.basisPoints(percentage))
    }

    /// The candidate's share of keys, in percent.
    public var percentage: Double { Double(share.load(ordering: .relaxed)) / 100 }

    public func setPercentage(_ percentage: Double) throws {
        share.store(try Self.basisPoints(percentage), ordering: .relaxed)
    }

    /// The key's bucket in 0..<10_000: fixed for a key and salt, on every machine and release.
    public func bucket(for key: String) -> Int { Self.bucket(for: key, saltSeed: saltSeed) }

    /// The bucket of `key` under the salt whose hash is `saltSeed`: the split any router of a
    /// service must agree on.
    public static func bucket(for key: String, saltSeed: UInt64) -> Int {
        Int(StableHash.hash(key, seed: saltSeed) % UInt64(buckets))
    }

    public func arm(for key: String) -> Arm {
        bucket(for: key) < share.load(ordering: .relaxed) ? .candidate : .baseline
    }

    private static func basisPoints(_ percentage: Double) throws -> Int {
        guard percentage.isFinite, (0...100).contains(percentage) else { throw PercentageError.outOfRange(percentage) }
        return Int((percentage * 100).rounded())
    }
}
