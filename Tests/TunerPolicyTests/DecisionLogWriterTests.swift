import Dispatch
import Foundation
import Testing
import TunerPolicy

@Suite struct DecisionLogWriterTests {
    /// Lines appended from many threads come back whole, one JSON object per line, with the
    /// fields of the documented schema.
    @Test func concurrentAppendsGiveWholeLines() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("log-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("decisions.jsonl")
        let policy = try PolicyFixture.policy(seed: 71)
        let contexts = PolicyFixture.contexts(400)
        let writer = try DecisionLogWriter(url: url)
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            for i in stride(from: thread, to: contexts.count, by: 4) {
                let decision = policy.decide(contexts[i], mode: .sampled(seed: UInt64(i)))
                try! writer.append(decision, requestID: "r\(i)", context: contexts[i], policy: policy, arm: .candidate, sampled: true)
                try! writer.append(outcome: DecisionOutcome(latencyMilliseconds: Double(i), costUSD: 0.001, feedback: 1), requestID: "r\(i)")
            }
        }
        try writer.sync()
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 800)
        let entries = try lines.map { try JSONDecoder().decode(DecisionLogEntry.self, from: Data($0.utf8)) }
        let decisions = entries.filter { $0.event == .decision }
        #expect(decisions.count == 400)
        for entry in decisions {
            let i = Int(entry.requestID.dropFirst())!
            let expected = policy.decide(contexts[i], mode: .sampled(seed: UInt64(i)))
            #expect(entry.action == expected.storedAction && entry.configuration == expected.settings.configuration)
            #expect(entry.propensity == expected.probability && entry.policyVersion == policy.version && entry.arm == .candidate)
            #expect(entry.context == PolicyFixture.features.features(contexts[i], layout: PolicyFixture.layout))
        }
        let first = String(lines[0])
        for key in ["\"event\"", "\"timestamp\"", "\"request_id\""] { #expect(first.contains(key)) }
        #expect(entries.filter { $0.event == .outcome }.allSatisfy { $0.outcome?.feedback == 1 })
    }
}
