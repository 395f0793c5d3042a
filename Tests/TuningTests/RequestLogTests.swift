import Foundation
import NumericCore
import Pipeline
import PPO
import Retrieval
import Statistics
import Testing
import TunerPolicy
import Tuning

/// A production request log replayed over the demo dataset.
@Suite struct RequestLogTests {
    static func writeLog(_ lines: [String]) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("requests-\(UUID().uuidString).jsonl")
        try lines.joined(separator: "\n").write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    static func line(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    @Test func aLogIsMatchedSplitByTimeAndItsBadLinesCounted() throws {
        let setup = try EvaluationSetup.load(
            datasetFolder: SharedSystems.repository.appendingPathComponent("datasets/demo"), policyFile: nil, pipelineFile: nil)
        let dataset = setup.dataset
        let judged = Set(dataset.splits.values.flatMap(\.queries))
        let warranty = try setup.queries(split: "train").filter { dataset.queries[$0].category == "warranty" }
        let overview = try setup.queries(split: "train").filter { dataset.queries[$0].category == "overview" }
        var lines: [String] = []
        // 400 requests, written newest first so the reader must sort by time; 3 in 4 about
        // warranties, with the question's spacing and case changed, one unknown question per 50.
        for i in (0..<400).reversed() {
            let q = i % 4 == 3 ? overview[i % overview.count] : warranty[i % warranty.count]
            var text = dataset.queries[q].text.uppercased().replacingOccurrences(of: " ", with: "  ")
            if i % 50 == 0 { text = "what is the meaning of life \(i)?" }
            let stamp = String(format: "2026-11-20T%02d:%02d:%02d.000Z", i / 3600, (i / 60) % 60, i % 60)
            lines.append(try Self.line(["timestamp": stamp, "question": text, "category": i % 100 == 1 ? "billing" : dataset.queries[q].category,
                                        "latency_ms": 180.0, "cost_usd": 0.0002]))
        }
        lines.insert(#"{"timestamp": "2026-11-20T00:00:00.000Z", "question": "#, at: 10)
        lines.insert(#"{"timestamp": "2026-11-20T00:00:00.000Z"}"#, at: 20)
        let url = try Self.writeLog(lines)
        defer { try? FileManager.default.removeItem(at: url) }

        #expect(throws: RequestLog.Failure.self) { try RequestLog.read(url, dataset: dataset, judged: judged, maxBadLineFraction: 0) }
        let log = try RequestLog.read(url, dataset: dataset, judged: judged)
        #expect(log.lines == 402 && log.badLines.count == 2 && log.unmatched == 8 && log.categoryMismatches == 4)
        #expect(log.train.count == 314 && log.test.count == 78)
        // Time order: request i (i not a multiple of 50) is the i-th; the split is at 80% of them.
        let expected = (0..<400).filter { $0 % 50 != 0 }.map { i in i % 4 == 3 ? overview[i % overview.count] : warranty[i % warranty.count] }
        #expect(log.train + log.test == expected)
        #expect(log.summary.contains("8 without a judged counterpart") && log.summary.contains("2 malformed lines"))

        // Replayed traffic trains and is judged on its own later slice.
        BLAS.setThreads(1)
        let tuning = try OfflineTuning(setup: setup, system: try RetrievalSystem(dataset: dataset, costModel: setup.costModel), train: log.train, test: log.test)
        #expect(tuning.testCache.queries.count == 78 && tuning.trainCache.categories == ["overview", "warranty"])
        var ppo = PPOConfiguration.ragTuning
        ppo.totalSteps = 4_096
        let trainer = try tuning.trainer(ppo)
        try trainer.train()
        let verdict = try tuning.verdict(policy: Policy(checkpoint: trainer.checkpoint), bootstrap: Bootstrap(resamples: 1_000))
        #expect(verdict.policy.n == 78 && Set(verdict.policyConfigurations.keys) == ["overview", "warranty"])
    }

    /// Timestamps are read as instants: offsets order correctly, and a timestamp that is no ISO
    /// 8601 date and time is a bad line, not a string sorted among the others (it once decided
    /// what was trained on).
    @Test func timestampsAreParsedAndBadOnesAreBadLines() throws {
        let setup = try EvaluationSetup.load(
            datasetFolder: SharedSystems.repository.appendingPathComponent("datasets/demo"), policyFile: nil, pipelineFile: nil)
        let dataset = setup.dataset
        let judged = Set(dataset.splits.values.flatMap(\.queries))
        let questions = try setup.queries(split: "train").prefix(5).map { dataset.queries[$0].text }
        // As text, "…T10:00:00+05:00" sorts after "…T06:00:00Z", but it is the earlier instant (05:00 UTC).
        let stamps = ["2026-11-20T06:00:00Z", "2026-11-20T10:00:00+05:00", "2026-11-20T07:00:00.500Z", "2026-11-20T08:00:00-00:30", "2026-11-20T09:00:00Z"]
        var lines = try zip(stamps, questions).map { try Self.line(["timestamp": $0, "question": $1]) }
        // The last: a fraction of 80 digits and an offset of 5, on which ISO8601DateFormatter died
        // of a floating-point exception (found by Benchmarks/Fuzz).
        for stamp in ["yesterday", "", "2026-13-45T99:99:99Z", "2026-11-23T15:06:00.25" + String(repeating: "3", count: 80) + "+01800"] {
            lines.append(try Self.line(["timestamp": stamp, "question": questions[0]]))
        }
        let url = try Self.writeLog(lines)
        defer { try? FileManager.default.removeItem(at: url) }
        let log = try RequestLog.read(url, dataset: dataset, judged: judged, maxBadLineFraction: 0.5)
        #expect(log.badLines.count == 4)
        #expect(log.badLines.allSatisfy { "\($0)".contains("field 'timestamp' is") }, "\(log.badLines)")
        let byText = Dictionary(uniqueKeysWithValues: try setup.queries(split: "train").prefix(5).map { (dataset.queries[$0].text, $0) })
        // In time: +05:00 (05:00), Z (06:00), .500Z (07:00:00.5), -00:30 (08:30), Z (09:00).
        #expect(log.train + log.test == [1, 0, 2, 3, 4].map { byText[questions[$0]]! })
    }
}
