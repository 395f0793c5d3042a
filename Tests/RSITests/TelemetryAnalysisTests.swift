import Foundation
import NumericCore
import RSI
import Scoring
import Testing
import TunerPolicy

@Suite struct TelemetryAnalysisTests {
    static let end = try! Date.ISO8601FormatStyle().parse("2026-11-23T00:00:00Z")

    /// Two days of requests, one decision and one outcome line each; from `degradeAt` on,
    /// warranty answers get slow and unfaithful.
    static func log(degrade: Bool) throws -> URL {
        var rng = RandomGenerator(seed: 5)
        var lines: [String] = []
        let formatter = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        for i in 0..<800 {
            let time = end.addingTimeInterval(-2 * 24 * 3600 + Double(i) * 216)  // spread over 48 hours
            let category = i % 2 == 0 ? "warranty" : "overview"
            let bad = degrade && category == "warranty" && time >= end.addingTimeInterval(-24 * 3600)
            let settings = bad ? RAGSettings(variant: .dense, k: 3) : RAGSettings()
            let id = "r\(i)"
            func line(_ object: [String: Any]) throws -> String {
                String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
            }
            let configuration = try JSONSerialization.jsonObject(with: JSONEncoder().encode(settings))
            lines.append(try line(["event": "decision", "timestamp": formatter.format(time), "request_id": id, "category": category,
                                   "context": [0.5], "action": [0, 0, 0, 0.5, 0], "propensity": 0.5, "configuration": configuration]))
            let latency = (bad ? 620.0 : 240.0) + rng.uniform(in: -30..<30)
            let faithfulness = bad ? 0.55 + rng.uniform(in: -0.1..<0.1) : 0.9 + rng.uniform(in: -0.05..<0.05)
            lines.append(try line(["event": "outcome", "timestamp": formatter.format(time.addingTimeInterval(1)), "request_id": id,
                                   "outcome": ["latency_ms": latency, "cost_usd": 0.0002, "faithfulness": faithfulness, "relevancy": 0.9, "error": false]]))
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("telemetry-\(UUID().uuidString).jsonl")
        try lines.joined(separator: "\n").write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    static let reward = RewardFunction(PolicyConfiguration(actions: .init(variants: ["bm25", "dense", "hybrid", "rrf"], templates: ["ranked"])))

    @Test func aDegradedCategoryIsFoundWithItsDriftAndBreaches() throws {
        let url = try Self.log(degrade: true)
        defer { try? FileManager.default.removeItem(at: url) }
        let report = try TelemetryAnalysis.analyse(url, end: Self.end, reward: Self.reward)
        #expect(report.sampled == 400 && report.needsImprovement)
        let warranty = try #require(report.categories.first { $0.key == "warranty" })
        #expect(warranty.requests == 200 && (warranty.latencyP95Milliseconds ?? 0) > 600)
        #expect(warranty.breaches.contains { $0.hasPrefix("faithfulness") } && warranty.breaches.contains { $0.hasPrefix("p95 latency") })
        #expect(report.categories.first { $0.key == "overview" }?.breaches == [])
        let drift = try #require(report.drifts.first { $0.category == "warranty" && $0.metric == "latency_ms" })
        #expect(drift.score > 10 && abs(drift.previousMedian - 240) < 10 && abs(drift.currentMedian - 620) < 10)
        #expect(report.drifts.filter { $0.category == "overview" }.allSatisfy { $0.score < TelemetryAnalysis.driftThreshold })
        #expect(report.findings.contains { $0.hasPrefix("configuration variant=dense k=3") })
        #expect(report.findings.contains { $0.contains("latency_ms drifted") })
    }

    @Test func aHealthyWindowStopsTheCycleAndSaysWhy() throws {
        let url = try Self.log(degrade: false)
        defer { try? FileManager.default.removeItem(at: url) }
        let report = try TelemetryAnalysis.analyse(url, end: Self.end, reward: Self.reward)
        #expect(!report.needsImprovement && report.findings.isEmpty && report.gateReason.hasPrefix("nothing needs improving"))
        // Sampling keeps the same requests each time.
        let half = try TelemetryAnalysis.analyse(url, end: Self.end, sampleRate: 0.5, reward: Self.reward)
        #expect(half.sampled > 160 && half.sampled < 240)
        #expect(try TelemetryAnalysis.analyse(url, end: Self.end, sampleRate: 0.5, reward: Self.reward).sampled == half.sampled)
    }

    @Test func readingFromTheLogsEarlierEndSeesOnlyWhatCameAfter() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("offset-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: url) }
        let writer = try DecisionLogWriter(url: url)
        func serve(_ id: String, latency: Double) throws {
            try writer.append(DecisionLogEntry(configuration: RAGSettings().configuration, version: "v1", requestID: id, category: "warranty", question: "q \(id)"))
            try writer.append(outcome: DecisionOutcome(latencyMilliseconds: latency), requestID: id)
        }
        try serve("a", latency: 100)
        try serve("b", latency: 200)
        let offset = LoggedRequest.end(of: url)
        try serve("c", latency: 300)
        #expect(try LoggedRequest.read(url).map(\.id) == ["a", "b", "c"])
        let later = try LoggedRequest.read(url, offset: offset)
        #expect(later.map(\.id) == ["c"] && later[0].outcome.latencyMilliseconds == 300 && later[0].question == "q c" && later[0].version == "v1")
    }

    @Test func aRequestLogIsAnalysedBesideTheDecisionLog() throws {
        // A service's own request log: latency, cost and feedback per request, no judged quality.
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("requests-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: url) }
        var lines: [String] = []
        for i in 0..<60 {
            let time = Self.end.addingTimeInterval(-3600 + Double(i) * 30).formatted(Date.ISO8601FormatStyle())
            let slow = i % 2 == 0
            lines.append(#"{"timestamp":"\#(time)","question":"q\#(i)","category":"\#(slow ? "warranty" : "overview")","latency_ms":\#(slow ? 700 : 200),"cost_usd":0.0002,"feedback":\#(slow ? 0 : 1)}"#)
        }
        lines.append("not json")
        try lines.joined(separator: "\n").write(to: url, atomically: true, encoding: .utf8)
        let requests = try LoggedRequest.read(requestLog: url)
        #expect(requests.count == 60 && requests[0].id == "\(url.lastPathComponent):1" && requests[0].question == "q0")
        let report = TelemetryAnalysis.analyse(requests, end: Self.end, reward: Self.reward)
        let warranty = try #require(report.categories.first { $0.key == "warranty" })
        #expect(warranty.requests == 30 && warranty.quality == 0 && warranty.breaches == ["p95 latency 700 ms > 500 ms"])
        #expect(report.categories.first { $0.key == "overview" }?.quality == 1 && report.findings == ["category warranty: p95 latency 700 ms > 500 ms"])
    }
}
