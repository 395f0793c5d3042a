/// Routes a service's requests between a baseline and a candidate policy by a ``TrafficSplit``,
/// and decides each with its arm's policy.
///
/// ```swift
/// let router = try CanaryRouter(baseline: stable, candidate: trial, percentage: 5)
/// let routed = router.decide(key: sessionID, context: context)
/// apply(routed.decision.settings)
/// try log.append(routed.decision, requestID: id, context: context, policy: routed.policy, arm: routed.arm)
/// try router.split.setPercentage(25)
/// ```
public final class CanaryRouter: Sendable {
    public struct RoutedDecision: Sendable {
        public let arm: TrafficSplit.Arm
        public let decision: Decision
        /// The policy that decided (what a decision log builds the line's features with).
        public let policy: RAGPolicy
    }

    public let baseline: PolicyHandle
    public let candidate: PolicyHandle
    public let split: TrafficSplit

    public init(baseline: PolicyHandle, candidate: PolicyHandle, percentage: Double, salt: String = "canary") throws {
        self.baseline = baseline
        self.candidate = candidate
        split = try TrafficSplit(percentage: percentage, salt: salt)
    }

    /// Routes the request and decides with that arm's policy.
    public func decide(key: String, context: PolicyContext, mode: RAGPolicy.Mode = .deterministic) -> RoutedDecision {
        let arm = split.arm(for: key)
        let policy = (arm == .candidate ? candidate : baseline).current
        return RoutedDecision(arm: arm, decision: policy.decide(context, mode: mode), policy: policy)
    }
}
