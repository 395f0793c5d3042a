import Evaluation
import Foundation
import NumericCore
import Retrieval
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

    struct Request {
        var time: Date
        var category: String
        var configuration: String
        var outcome: DecisionOutcome
        var quality: Double? {
            if let f = outcome.faithfulness, let r = outcome.relevancy { return (f + r) / 2 }
            return outcome.feedback
        }
    }

    /// Analyses the requests of `log` in [end − window, end), keeping the share `sampleRate` of
    /// them (by a stable hash of the request id, so a rerun keeps the same ones).
    public static func analyse(_ log: URL, end: Date, window: TimeInterval = 24 * 3600, sampleRate: Double = 1,
                               reward: RewardFunction) throws -> TelemetryAnalysis {
        let requests = try read(log).filter { r in
            sampleRate >= 1 || Double(StableHash.hash(r.id) % 1_000_000) < sampleRate * 1_000_000
        }.map(\.request)
        let start = end.addingTimeInterval(-window)
        let current = requests.filter { $0.time >= start && $0.time < end }
        let previous = requests.filter { $0.time >= start.addingTimeInterval(-window) && $0.time < start }
        var findings: [String] = []
        func groups(_ key: (Request) -> String, label: String) -> [Group] {
            Dictionary(grouping: current, by: key).map { name, members in
                let g = summarise(name, members, gates: reward.forCategory(name).gates)
                if g.requests >= minimumRequests {
                    for breach in g.breaches { findings.append("\(label) \(name): \(breach)") }
                }
                return g
            }.sorted { $0.key < $1.key }
        }
        let categories = groups(\.category, label: "category")
        let configurations = groups(\.configuration, label: "configuration")
        var drifts: [Drift] = []
        for category in Set(current.map(\.category)).sorted() {
            let now = current.filter { $0.category == category }
            let before = previous.filter { $0.category == category }
            guard now.count >= minimumRequests, before.count >= minimumRequests else { continue }
            for (metric, value) in [("latency_ms", { (r: Request) in r.outcome.latencyMilliseconds }), ("quality", { (r: Request) in r.quality })] {
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

    static func summarise(_ key: String, _ members: [Request], gates: PolicyConfiguration.GateThresholds) -> Group {
        let latencies = members.compactMap(\.outcome.latencyMilliseconds).sorted()
        let costs = members.compactMap(\.outcome.costUSD)
        let judged = members.filter { $0.outcome.faithfulness != nil && $0.outcome.relevancy != nil }
        let qualities = members.compactMap(\.quality)
        let errors = Double(members.filter { $0.outcome.error == true }.count) / Double(members.count)
        var breaches: [String] = []
        if !judged.isEmpty {
            let f = judged.reduce(0) { $0 + $1.outcome.faithfulness! } / Double(judged.count)
            let r = judged.reduce(0) { $0 + $1.outcome.relevancy! } / Double(judged.count)
            if f < gates.faithfulnessMin { breaches.append(String(format: "faithfulness %.3f < %.3f", f, gates.faithfulnessMin)) }
            if r < gates.relevancyMin { breaches.append(String(format: "relevancy %.3f < %.3f", r, gates.relevancyMin)) }
        }
        let p95 = latencies.isEmpty ? nil : Percentile.sorted(latencies, 95)
        if let p95, p95 > gates.latencyP95MaxMilliseconds { breaches.append(String(format: "p95 latency %.0f ms > %.0f ms", p95, gates.latencyP95MaxMilliseconds)) }
        if errors >= gates.errorRateMax { breaches.append(String(format: "error rate %.3f ≥ %.3f", errors, gates.errorRateMax)) }
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

    /// Decisions joined with their (merged) outcomes; decisions without an outcome are left out.
    static func read(_ log: URL) throws -> [(id: String, request: Request)] {
        let (rows, _) = try JSONLines.readTolerating(DecisionLogEntry.self, from: log)
        var outcomes: [String: DecisionOutcome] = [:]
        for (_, e) in rows where e.event == .outcome {
            if let o = e.outcome { outcomes[e.requestID] = outcomes[e.requestID]?.merging(o) ?? o }
        }
        let parser = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        return rows.compactMap { _, e in
            guard e.event == .decision, let time = try? parser.parse(e.timestamp) else { return nil }
            guard let outcome = [e.outcome, outcomes[e.requestID]].compactMap({ $0 }).reduce(nil, { $0?.merging($1) ?? $1 }) else { return nil }
            return (e.requestID, Request(time: time, category: e.category ?? "unknown", configuration: e.configuration.map(groupKey) ?? "unknown", outcome: outcome))
        }
    }
}
