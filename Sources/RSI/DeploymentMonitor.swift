import Evaluators
import Foundation
import NumericCore
import Scoring
import Statistics

/// Watches a deployment through the decision log: the requests the new version served since a
/// step began, against a baseline — the other arm of a rollout, or, once it serves everything,
/// the analysis window the change was made from — judged by the ``CanaryRule`` that `tuner
/// canary` judges by, each affected category under its own gates. A step is healthy when the rule
/// finds nothing to roll back for once every affected category has enough requests on the new
/// version; it does not need to show the change ahead, which its A/B test already did.
public struct DeploymentMonitor: Sendable {
    public let log: URL
    public let reward: RewardFunction
    public let categories: Set<String>
    public let rule: CanaryRule

    public init(log: URL, reward: RewardFunction, categories: Set<String>, minimumSamples: Int, tolerance: Double) {
        self.log = log
        self.reward = reward
        self.categories = categories
        var options = CanaryRule.Options()
        options.minimumPerArm = minimumSamples
        options.minimumPerCategory = TelemetryAnalysis.minimumRequests
        options.regressionTolerance = tolerance
        rule = CanaryRule(reward: reward, options: options)
    }

    public struct Check: Sendable, Codable, Equatable {
        public enum Verdict: String, Sendable, Codable {
            case healthy, regression
            case insufficient = "insufficient_traffic"
        }
        public var verdict: Verdict
        public var candidateRequests: Int
        public var baselineRequests: Int
        public var candidateReward: Double
        public var baselineReward: Double
        /// The canary rule's always-valid p-value for a reward difference between the two.
        public var sequentialPValue: Double
        public var candidateBreaches: [String]
        public var reason: String
    }

    /// Checks `version`'s requests since `since` against `baseline`, or against the other
    /// versions' requests over the same time when `baseline` is nil. The log is read from byte
    /// `offset` (its size when the step began), so a check costs what the step logged, not the
    /// whole log. Each check looks at the step as a whole (a new sequential test over everything
    /// since `since`: valid at every look, if less quick to reject than one carried between looks).
    public func check(version: String, since: Date, offset: UInt64 = 0, baseline: [LoggedRequest]?) throws -> Check {
        // No log yet is no traffic yet.
        let logged = FileManager.default.fileExists(atPath: log.path) ? try LoggedRequest.read(log, offset: offset) : []
        let recent = logged.filter { $0.time >= since && categories.contains($0.category) }
        let candidate = recent.filter { $0.version == version }.map(request)
        let base = (baseline.map { $0.filter { categories.contains($0.category) } } ?? recent.filter { $0.version != version }).map(request)
        var sequential = MixtureSPRT(alpha: rule.options.alpha)
        let judgement = rule.judge(.init(stepCandidate: candidate, stepBaseline: base), categories: categories.sorted(), sequential: &sequential)
        func mean(_ v: [Double]) -> Double { v.isEmpty ? .nan : v.reduce(0, +) / Double(v.count) }
        let a = candidate.compactMap(\.reward), b = base.compactMap(\.reward)
        var check = Check(verdict: .healthy, candidateRequests: a.count, baselineRequests: b.count, candidateReward: mean(a), baselineReward: mean(b),
                          sequentialPValue: judgement.sequentialPValue, candidateBreaches: judgement.candidateBreaches, reason: "")
        switch judgement.decision {
        case let .rollback(reason):
            check.verdict = .regression
            check.reason = reason
        case let .hold(reason):
            check.verdict = .insufficient
            check.reason = reason
        case .clean:
            check.reason = String(format: "reward %.4f vs %.4f (sequential test p = %.3g), no new gate breach, no burn-rate alert",
                                  check.candidateReward, check.baselineReward, check.sequentialPValue)
        }
        return check
    }

    /// A logged request as the canary rule reads it.
    func request(_ r: LoggedRequest) -> CanaryRule.Request {
        CanaryRule.Request(category: r.category, failed: r.outcome.error == true, latencyMilliseconds: r.outcome.latencyMilliseconds,
                           faithfulness: r.outcome.faithfulness, relevancy: r.outcome.relevancy, reward: r.reward(reward.weights))
    }
}
