import Foundation
import Pipeline
import Testing

/// The header's "gates in force — from …" credits a policy file only with the gates it sets (it
/// once credited the file with defaults it never mentioned).
@Suite struct GateSourceTests {
    @Test func theGateSourceNamesWhatTheFileSets() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gate-source-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        func source(_ yaml: String) throws -> String {
            let file = folder.appendingPathComponent("policy-\(UUID().uuidString).yaml")
            try yaml.write(to: file, atomically: true, encoding: .utf8)
            return try EvaluationSetup.load(
                datasetFolder: SharedSystems.repository.appendingPathComponent("datasets/demo"), manifest: nil, policyFile: file, pipelineFile: nil,
                loadsEmbeddings: false).gateSource + "|" + file.path
        }
        let none = try source("version: 1\nreward:\n  alpha: 0.6\n").split(separator: "|")
        #expect(none[0] == "built-in defaults (the specification's; \(none[1]) sets no gate)")
        let some = try source("version: 1\ngates:\n  relevancy_min: 0.6\n").split(separator: "|")
        #expect(some[0] == "policy configuration \(some[1]) (relevancy_min), built-in defaults for the rest")
        let all = try source("gates:\n  faithfulness_min: 0.7\n  relevancy_min: 0.6\n  latency_p95_max_ms: 400\n  error_rate_max: 0.02\n").split(separator: "|")
        #expect(all[0] == "policy configuration \(all[1])")
    }
}
