import Foundation
import Testing
import Tracking
import TunerPolicy

/// `tuner train` as a real process: a run keeps the stage times it charged, and a second run
/// handed them with the same seed repeats the first exactly; the policy judged is the update
/// best on the train split unless the last is asked for; a bad override writes nothing.
@Suite struct TrainProcessTests {
    static func train(_ arguments: [String], steps: Int = 1024) throws -> [String: Any] {
        try tuner(["train", "--mode", "offline", "--steps", "\(steps)", "--seed", "3", "--json"] + arguments)
    }

    /// Runs the tuner with `arguments` in the repository and returns the JSON it printed.
    static func tuner(_ arguments: [String]) throws -> [String: Any] {
        let process = Process()
        process.executableURL = ServeProcessTests.tuner
        process.arguments = arguments
        process.currentDirectoryURL = Loopback.repository
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "tuner \(arguments) exited with \(process.terminationStatus)")
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

    /// By default the verdict judges, and policy.ckpt holds, the update whose configurations score
    /// best on the train split, as every update's score was logged; `--select last` judges the
    /// last update and saves no selection.
    @Test func theJudgedPolicyIsTheBestUpdateOnTrainUnlessTheLastIsAsked() throws {
        try #require(FileManager.default.isExecutableFile(atPath: ServeProcessTests.tuner.path), "no tuner binary at \(ServeProcessTests.tuner.path)")
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("train-process-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        func selection(_ report: [String: Any]) throws -> (rule: String, update: Int, updates: Int, trainReward: Double) {
            let s = try #require(report["policy_selection"] as? [String: Any])
            return (try #require(s["rule"] as? String), try #require(s["update"] as? Int), try #require(s["updates"] as? Int),
                    try #require(s["train_reward"] as? Double))
        }
        let best = try Self.train(["--out", out.path], steps: 4096)
        let run = try #require(best["run_id"] as? String)
        let chosen = try selection(best)
        #expect(chosen.rule == "best" && chosen.updates == 8 && (0..<8).contains(chosen.update))
        let oracleTrainReward = (best["policy_selection"] as? [String: Any])?["oracle_train_reward"] as? Double
        #expect(oracleTrainReward?.isFinite == true, "the oracle's train score beside the policy's")
        // The mean per-query rewards are what the paired gains are differences of.
        let test = try #require(best["test"] as? [String: Any])
        let means = try #require(test["query_reward"] as? [String: Double])
        for (name, key) in [("default_static", "gain_vs_default"), ("best_static", "gain_vs_best_static"), ("oracle", "gain_vs_oracle")] {
            let gain = try #require((test[key] as? [String: Double])?["mean"])
            #expect(abs(means["policy"]! - means[name]! - gain) < 1e-9, "\(name)")
        }

        // Every update's score, as the run logged it: the kept one is the first highest.
        let scores = try RunStore(folder: out).metrics(run: run).filter { $0.name == "train_reward" }.sorted { $0.update < $1.update }
        #expect(scores.map(\.update) == Array(0..<8))
        let top = scores.indices.max { scores[$0].value < scores[$1].value }!
        #expect(chosen.update == top && abs(chosen.trainReward - scores[top].value) < 1e-12)
        let kept = try PolicyCheckpoint.read(from: out.appendingPathComponent(run).appendingPathComponent("policy.ckpt"))
        #expect(kept.selection == PolicyCheckpoint.Selection(update: top, score: scores[top].value))

        // The same run (its stage times, its seed) judged at its last update.
        let times = out.appendingPathComponent(run).appendingPathComponent("stage-times.json")
        let last = try Self.train(["--out", out.path, "--select", "last", "--stage-times", times.path], steps: 4096)
        let lastRun = try #require(last["run_id"] as? String)
        let judged = try selection(last)
        #expect(judged.rule == "last" && judged.update == 7 && abs(judged.trainReward - scores[7].value) < 1e-12)
        #expect(try PolicyCheckpoint.read(from: out.appendingPathComponent(lastRun).appendingPathComponent("policy.ckpt")).selection == nil)
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
