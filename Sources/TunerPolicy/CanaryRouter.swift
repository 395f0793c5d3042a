import NumericCore
import Synchronization

/// Splits traffic between a baseline and a candidate policy by a stable hash of a key the
/// service chooses (a user or session id), so a user stays on one arm. The candidate's share can
/// be changed while serving; raising it only moves users from baseline to candidate (a user's
/// bucket is fixed, the threshold moves), and lowering it only moves them back.
///
/// ```swift
/// let router = try CanaryRouter(baseline: stable, candidate: trial, percentage: 5)
/// let routed = router.decide(key: sessionID, context: context)
/// apply(routed.decision.settings)
/// try log.append(routed.decision, requestID: id, context: context, policy: routed.policy, arm: routed.arm)
/// try router.setPercentage(25)
/// ```
public final class CanaryRouter: Sendable {
    public enum Arm: String, Sendable, Codable, CaseIterable {
        case baseline, candidate
    }

    public struct RoutedDecision: Sendable {
        public let arm: Arm
        public let decision: Decision
        /// The policy that decided (what a decision log builds the line's features with).
        public let policy: RAGPolicy
    }

    public enum RouterError: Error, CustomStringConvertible {
        case percentage(Double)
        public var description: String {
            switch self {
            case let .percentage(p): "canary percentage \(p) is outside 0...100"
            }
        }
    }

    public let baseline: PolicyHandle
    public let candidate: PolicyHandle
    /// Mixed into the hash so that different experiments split users independently.
    public let salt: String
    private let saltSeed: UInt64
    /// The candidate's share in hundredths of a percent (0...10_000).
    private let share: Atomic<Int>

    public static let buckets = 10_000

    public init(baseline: PolicyHandle, candidate: PolicyHandle, percentage: Double, salt: String = "canary") throws {
        self.baseline = baseline
        self.candidate = candidate
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

    /// Routes the request and decides with that arm's policy.
    public func decide(key: String, context: PolicyContext, mode: RAGPolicy.Mode = .deterministic) -> RoutedDecision {
        let arm = arm(for: key)
        let policy = (arm == .candidate ? candidate : baseline).current
        return RoutedDecision(arm: arm, decision: policy.decide(context, mode: mode), policy: policy)
    }

    private static func basisPoints(_ percentage: Double) throws -> Int {
        guard percentage.isFinite, (0...100).contains(percentage) else { throw RouterError.percentage(percentage) }
        return Int((percentage * 100).rounded())
    }
}
