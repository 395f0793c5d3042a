import Foundation
import NumericCore
import Scoring
import Statistics

/// Watches a deployment through the decision log: the requests the new version served since a
/// step began, against a baseline — the other arm of a rollout, or, once it serves everything,
/// the analysis window the change was made from. A regression is a gate the new version breaches
/// in an affected category that the baseline does not, or a reward interval wholly below
/// −tolerance. A step is judged only once every affected category has enough requests on the
/// new version to judge its gates.
public struct DeploymentMonitor: Sendable {
    public let log: URL
    public let reward: RewardFunction
    public let categories: Set<String>
    public let minimumSamples: Int
    public let tolerance: Double
    public let seed: UInt64

    public init(log: URL, reward: RewardFunction, categories: Set<String>, minimumSamples: Int, tolerance: Double, seed: UInt64) {
        self.log = log
        self.reward = reward
        self.categories = categories
        self.minimumSamples = minimumSamples
        self.tolerance = tolerance
        self.seed = seed
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
        /// Mean reward of the new version minus the baseline's, percentile bootstrap over both samples.
        public var gainLower: Double
        public var gainUpper: Double
        public var candidateBreaches: [String]
        public var reason: String
    }

    /// Checks `version`'s requests since `since` against `baseline`, or against the other
    /// versions' requests over the same time when `baseline` is nil. The log is read from byte
    /// `offset` (its size when the step began), so a check costs what the step logged, not the
    /// whole log.
    public func check(version: String, since: Date, offset: UInt64 = 0, baseline: [LoggedRequest]?) throws -> Check {
        // No log yet is no traffic yet.
        let logged = FileManager.default.fileExists(atPath: log.path) ? try LoggedRequest.read(log, offset: offset) : []
        let recent = logged.filter { $0.time >= since && categories.contains($0.category) }
        let candidate = recent.filter { $0.version == version }
        let base = baseline.map { $0.filter { categories.contains($0.category) } } ?? recent.filter { $0.version != version }
        let weights = reward.weights
        let a = candidate.compactMap { $0.reward(weights) }, b = base.compactMap { $0.reward(weights) }
        func mean(_ v: [Double]) -> Double { v.isEmpty ? .nan : v.reduce(0, +) / Double(v.count) }
        var check = Check(verdict: .insufficient, candidateRequests: a.count, baselineRequests: b.count, candidateReward: mean(a),
                          baselineReward: mean(b), gainLower: .nan, gainUpper: .nan, candidateBreaches: [], reason: "")
        guard a.count >= minimumSamples, b.count >= minimumSamples else {
            check.reason = "\(a.count) requests on the new version and \(b.count) on the baseline; \(minimumSamples) each needed"
            return check
        }
        // A category's gates are judged on enough of its own requests; until then the step has
        // too little evidence, never a clean bill of health.
        let served = Dictionary(grouping: candidate, by: \.category)
        let unjudged = categories.sorted().filter { (served[$0]?.count ?? 0) < TelemetryAnalysis.minimumRequests }
        guard unjudged.isEmpty else {
            check.reason = unjudged.map { "category \($0): \(served[$0]?.count ?? 0) requests on the new version" }.joined(separator: "; ")
                + "; \(TelemetryAnalysis.minimumRequests) each needed to judge its gates"
            return check
        }
        let ma = Bootstrap(seed: seed).resampledMeans(a), mb = Bootstrap(seed: seed &+ 1).resampledMeans(b)
        let differences = zip(ma, mb).map { $0 - $1 }.sorted()
        check.gainLower = Percentile.sorted(differences, 2.5)
        check.gainUpper = Percentile.sorted(differences, 97.5)
        for category in categories.sorted() {
            let gates = reward.forCategory(category).gates
            let mine = served[category] ?? [], theirs = base.filter { $0.category == category }
            let before = Set(TelemetryAnalysis.summarise(category, theirs, gates: gates).breaches.map(Self.gateName))
            for breach in TelemetryAnalysis.summarise(category, mine, gates: gates).breaches where !before.contains(Self.gateName(breach)) {
                check.candidateBreaches.append("\(category): \(breach)")
            }
        }
        if !check.candidateBreaches.isEmpty {
            check.verdict = .regression
            check.reason = "the new version breaches what the baseline does not: " + check.candidateBreaches.joined(separator: "; ")
        } else if check.gainUpper < -tolerance {
            check.verdict = .regression
            check.reason = String(format: "reward %.4f vs %.4f, difference interval [%+.4f, %+.4f] below −%.4f", check.candidateReward,
                                  check.baselineReward, check.gainLower, check.gainUpper, tolerance)
        } else {
            check.verdict = .healthy
            check.reason = String(format: "reward %.4f vs %.4f (difference [%+.4f, %+.4f]), no new gate breach", check.candidateReward,
                                  check.baselineReward, check.gainLower, check.gainUpper)
        }
        return check
    }

    /// "p95 latency 612 ms > 500 ms" → "p95 latency": which gate, whatever the figures.
    static func gateName(_ breach: String) -> String {
        String(breach.prefix { !$0.isNumber }).trimmingCharacters(in: .whitespaces)
    }
}
