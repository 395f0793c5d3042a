import Evaluators
import Foundation
import NumericCore
import Retrieval
import Scoring
import TunerPolicy

/// The performance analyser: a decision log (decisions joined with their outcomes) over an
/// analysis window, sampled, summarised per category and per configuration against the gates,
/// with drift against the previous window of the same length, and the findings that make the
/// cycle worth running. The analysis gate: no finding, no cycle — and the report says why.
public struct TelemetryAnalysis: Sendable, Encodable {
    public struct Group: Sendable, Codable, Equatable {
        public var key: String
        public var requests: Int
        /// Mean of (faithfulness + relevancy)/2 where judged, else of feedback; nil without either.
        public var quality: Double?
        public var latencyP50Milliseconds: Double?
        public var latencyP95Milliseconds: Double?
        public var costUSD: Double?
        public var errorRate: Double
        public var breaches: [String]
    }

    public struct Drift: Sendable, Codable, Equatable {
        public var category: String
        public var metric: String
        public var previousMedian: Double
        public var currentMedian: Double
        /// |median now − median before| / (1.4826 · MAD before): in robust standard deviations.
        public var score: Double
    }

    public var windowStart: Date
    public var windowEnd: Date
    public var sampled: Int
    public var categories: [Group]
    public var configurations: [Group]
    public var drifts: [Drift]
    public var findings: [String]
    /// The analysis gate: true when something needs improving.
    public var needsImprovement: Bool { !findings.isEmpty }
    public var gateReason: String {
        needsImprovement
            ? "\(findings.count) finding(s): the cycle goes on"
            : "nothing needs improving: every category and configuration passes the gates, error rates are within budget and nothing drifted more than \(TelemetryAnalysis.driftThreshold) robust standard deviations"
    }

    public static let driftThreshold = 3.0
    /// Groups smaller than this are reported but raise no finding.
    public static let minimumRequests = 20

    /// Analyses the requests of `log` in [end − window, end), keeping the share `sampleRate` of
    /// them (by a stable hash of the request id, so a rerun keeps the same ones).
    public static func analyse(_ log: URL, end: Date, window: TimeInterval = 24 * 3600, sampleRate: Double = 1,
                               reward: RewardFunction) throws -> TelemetryAnalysis {
        try analyse(LoggedRequest.read(log), end: end, window: window, sampleRate: sampleRate, reward: reward)
    }

    public static func analyse(_ logged: [LoggedRequest], end: Date, window: TimeInterval = 24 * 3600, sampleRate: Double = 1,
                               reward: RewardFunction) -> TelemetryAnalysis {
        let requests = sampled(logged, rate: sampleRate)
        let start = end.addingTimeInterval(-window)
        let current = requests.filter { $0.time >= start && $0.time < end }
        let previous = requests.filter { $0.time >= start.addingTimeInterval(-window) && $0.time < start }
        var findings: [String] = []
        func groups(_ requests: [LoggedRequest], _ key: (LoggedRequest) -> String, label: String) -> [Group] {
            Dictionary(grouping: requests, by: key).map { name, members in
                let g = summarise(name, members, gates: reward.forCategory(name).gates)
                if g.requests >= minimumRequests {
                    for breach in g.breaches { findings.append("\(label) \(name): \(breach)") }
                }
                return g
            }.sorted { $0.key < $1.key }
        }
        let categories = groups(current, \.category, label: "category")
        // Requests logged without their settings (a request log may not know them) have no configuration to blame.
        let configurations = groups(current.filter { $0.settings != nil }, { groupKey($0.settings!) }, label: "configuration")
        var drifts: [Drift] = []
        for category in Set(current.map(\.category)).sorted() {
            let now = current.filter { $0.category == category }
            let before = previous.filter { $0.category == category }
            guard now.count >= minimumRequests, before.count >= minimumRequests else { continue }
            for (metric, value) in [("latency_ms", { (r: LoggedRequest) in r.outcome.latencyMilliseconds }), ("quality", { (r: LoggedRequest) in r.quality })] {
                let a = before.compactMap(value), b = now.compactMap(value)
                guard a.count >= minimumRequests, b.count >= minimumRequests else { continue }
                let medianBefore = median(a), medianNow = median(b)
                let spread = 1.4826 * median(a.map { abs($0 - medianBefore) })
                let drift = Drift(category: category, metric: metric, previousMedian: medianBefore, currentMedian: medianNow,
                                  score: abs(medianNow - medianBefore) / max(spread, 1e-9))
                drifts.append(drift)
                if drift.score > driftThreshold {
                    findings.append(String(format: "category %@: %@ drifted from %.4g to %.4g (%.1f robust SD)", category, metric,
                                           drift.previousMedian, drift.currentMedian, drift.score))
                }
            }
        }
        return TelemetryAnalysis(windowStart: start, windowEnd: end, sampled: current.count, categories: categories,
                                 configurations: configurations, drifts: drifts, findings: findings)
    }

    /// The share `rate` of `requests`, chosen by a stable hash of the request id.
    public static func sampled(_ requests: [LoggedRequest], rate: Double) -> [LoggedRequest] {
        rate >= 1 ? requests : requests.filter { Double(StableHash.hash($0.id) % 1_000_000) < rate * 1_000_000 }
    }

    static func summarise(_ key: String, _ members: [LoggedRequest], gates: PolicyConfiguration.GateThresholds) -> Group {
        let latencies = members.compactMap(\.outcome.latencyMilliseconds).sorted()
        let costs = members.compactMap(\.outcome.costUSD)
        let judged = members.filter { $0.outcome.faithfulness != nil && $0.outcome.relevancy != nil }
        let qualities = members.compactMap(\.quality)
        let errors = Double(members.filter { $0.outcome.error == true }.count) / Double(members.count)
        let p95 = latencies.isEmpty ? nil : Percentile.sorted(latencies, 95)
        func mean(_ values: [Double]) -> Double? { values.isEmpty ? nil : values.reduce(0, +) / Double(values.count) }
        let breaches = GateCheck.breaches(
            faithfulness: mean(judged.map { $0.outcome.faithfulness! }), relevancy: mean(judged.map { $0.outcome.relevancy! }),
            latencyP95Milliseconds: p95, errorRate: errors, gates: gates).map(\.text)
        return Group(
            key: key, requests: members.count, quality: qualities.isEmpty ? nil : qualities.reduce(0, +) / Double(qualities.count),
            latencyP50Milliseconds: latencies.isEmpty ? nil : Percentile.sorted(latencies, 50), latencyP95Milliseconds: p95,
            costUSD: costs.isEmpty ? nil : costs.reduce(0, +) / Double(costs.count), errorRate: errors, breaches: breaches)
    }

    /// A configuration as a group: the fusion weight to two decimals, so a continuous head does
    /// not make every request a group of its own.
    static func groupKey(_ c: RAGSettings) -> String {
        var rounded = c
        rounded.fusionWeight = (c.fusionWeight * 100).rounded() / 100
        return rounded.description
    }

    static func median(_ values: [Double]) -> Double { Percentile.sorted(values.sorted(), 50) }
}
