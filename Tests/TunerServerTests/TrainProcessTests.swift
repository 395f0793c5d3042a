import Foundation
import Testing

/// `tuner train` as a real process: a run keeps the stage times it charged, and a second run
/// handed them with the same seed repeats the first exactly; a bad override writes nothing.
@Suite struct TrainProcessTests {
    static func train(_ arguments: [String]) throws -> [String: Any] {
        let process = Process()
        process.executableURL = ServeProcessTests.tuner
        process.arguments = ["train", "--mode", "offline", "--steps", "1024", "--seed", "3", "--json"] + arguments
        process.currentDirectoryURL = Loopback.repository
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "tuner train \(arguments) exited with \(process.terminationStatus)")
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func aRunRepeatsExactlyWithItsKeptStageTimes() throws {
        try #require(FileManager.default.isExecutableFile(atPath: ServeProcessTests.tuner.path), "no tuner binary at \(ServeProcessTests.tuner.path)")
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("train-process-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let first = try Self.train(["--out", out.path])
        let firstRun = try #require(first["run_id"] as? String)
        let kept = out.appendingPathComponent(firstRun).appendingPathComponent("stage-times.json")
        let keptBytes = try Data(contentsOf: kept)
        let second = try Self.train(["--out", out.path, "--stage-times", kept.path])
        let secondRun = try #require(second["run_id"] as? String)

        let a = try #require(first["test"] as? [String: Any]), b = try #require(second["test"] as? [String: Any])
        let aPolicy = try #require(a["policy"] as? [String: Any]), bPolicy = try #require(b["policy"] as? [String: Any])
        #expect(a["policy_reward"] as? Double == b["policy_reward"] as? Double)
        #expect(a["best_static_reward"] as? Double == b["best_static_reward"] as? Double)
        #expect(aPolicy["latency_p95_ms"] as? Double == bPolicy["latency_p95_ms"] as? Double)
        #expect(try Data(contentsOf: out.appendingPathComponent(secondRun).appendingPathComponent("stage-times.json")) == keptBytes)
    }

    /// A `--set` that names no field (here a head of a field that is no dictionary) stops the
    /// command before it reads data or creates the run store, with an error naming it.
    @Test func aBadOverrideIsRefusedBeforeAnythingIsWritten() throws {
        try #require(FileManager.default.isExecutableFile(atPath: ServeProcessTests.tuner.path), "no tuner binary at \(ServeProcessTests.tuner.path)")
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("train-process-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let process = Process()
        process.executableURL = ServeProcessTests.tuner
        process.arguments = ["train", "--mode", "offline", "--out", out.path, "--set", "epochs.k=2"]
        process.currentDirectoryURL = Loopback.repository
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus != 0)
        #expect(message.contains("--set: invalid PPO configuration: epochs.k must be field.head for one of entropyCoefficientByHead"), "\(message)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }
}
