import Foundation
import Testing
import Tracking
import TunerPolicy

/// `tuner train` as a real process: it prints the report it stores; a bad override writes nothing.
@Suite struct TrainProcessTests {
    static func train(_ arguments: [String], steps: Int = 1024) throws -> [String: Any] {
        try tuner(["train", "--mode", "offline", "--steps", "\(steps)", "--seed", "3", "--json"] + arguments)
    }

    /// Runs the tuner with `arguments` in the repository and returns the JSON it printed.
    static func tuner(_ arguments: [String]) throws -> [String: Any] {
        let (status, output, _) = try run(arguments)
        try #require(status == 0, "tuner \(arguments) exited with \(status)")
        return try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
    }

    /// Runs the tuner with `arguments` in the repository: its exit status, stdout and stderr
    /// (stderr is read to a file, so neither pipe can fill while the other is read).
    static func run(_ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        let process = Process()
        process.executableURL = ServeProcessTests.tuner
        process.arguments = arguments
        process.currentDirectoryURL = Loopback.repository
        let output = Pipe()
        let errorsFile = FileManager.default.temporaryDirectory.appendingPathComponent("tuner-stderr-\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: errorsFile.path, contents: nil) else { throw CocoaError(.fileWriteUnknown) }
        defer { try? FileManager.default.removeItem(at: errorsFile) }
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: errorsFile)
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self), try String(contentsOf: errorsFile, encoding: .utf8))
    }

    /// The command's own contract (the training logic is tested through the library,
    /// TrainingRunsTests): `--json` prints the report the run store keeps, with the keys `tuner
    /// runs` and the benchmarks read.
    /// Runs the tuner with `arguments` and returns its exit status and what it wrote on stderr.
    static func refusal(_ arguments: [String]) throws -> (status: Int32, message: String) {
        let (status, _, errors) = try run(arguments)
        return (status, errors)
    }

    @Test func tunerTrainPrintsTheStoredReport() throws {
        try #require(FileManager.default.isExecutableFile(atPath: ServeProcessTests.tuner.path), "no tuner binary at \(ServeProcessTests.tuner.path)")
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("train-process-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let printed = try Self.train(["--out", out.path])
        let run = try #require(printed["run_id"] as? String)
        let selection = try #require(printed["policy_selection"] as? [String: Any])
        #expect(selection["rule"] as? String == "best" && selection["updates"] as? Int == 2)
        let test = try #require(printed["test"] as? [String: Any])
        let means = try #require(test["query_reward"] as? [String: Double])
        for (name, key) in [("default_static", "gain_vs_default"), ("best_static", "gain_vs_best_static"), ("oracle", "gain_vs_oracle")] {
            let gain = try #require((test[key] as? [String: Double])?["mean"])
            #expect(abs(means["policy"]! - means[name]! - gain) < 1e-9, "\(name)")
        }
        for key in ["policy_reward", "default_static_reward", "best_static_reward", "oracle_reward", "gate_violations", "gates_unattainable",
                    "overall_gates_passed", "policy_configs", "best_static_config", "oracle_configs", "proposed_configs", "gate_margin"] {
            #expect(test[key] != nil, "\(key)")
        }
        for key in ["gain_vs_default", "gain_vs_best_static", "gain_vs_oracle"] {
            let gain = try #require(test[key] as? [String: Double])
            #expect(Set(gain.keys) == ["mean", "ci_low", "ci_high"] && gain["ci_low"]! <= gain["mean"]! && gain["mean"]! <= gain["ci_high"]!)
        }
        // Every train category with its evidence; the configuration served follows from it.
        let evidence = try #require(test["specialisation"] as? [String: [String: Any]])
        let configs = try #require(test["policy_configs"] as? [String: [String: Any]])
        let proposed = try #require(test["proposed_configs"] as? [String: [String: Any]])
        let bestStatic = NSDictionary(dictionary: try #require(test["best_static_config"] as? [String: Any]))
        #expect(Set(evidence.keys) == ["error_code", "overview", "warranty"])
        for (category, e) in evidence {
            let reason = try #require(e["reason"] as? String)
            #expect(e["specialised"] as? Bool == (reason.hasPrefix("cross-fitted gain above") || reason.hasPrefix("the shared configuration")))
            // Served: the network's proposal where the category is specialised (and the proposal
            // reaches the shared configuration on train), the best static configuration otherwise.
            let served = NSDictionary(dictionary: try #require(configs[category]))
            if e["specialised"] as? Bool == true {
                let own = NSDictionary(dictionary: try #require(proposed[category]))
                #expect(served == bestStatic || served == own, "\(category)")
            } else {
                #expect(served == bestStatic, "\(category)")
            }
        }
        let record = try RunStore(folder: out).run(run)
        #expect(record.status == .finished)
        let verdict = try #require(record.verdict)
        let stored = try #require(try JSONSerialization.jsonObject(with: Data(verdict.utf8)) as? [String: Any])
        #expect((stored["test"] as? [String: Any])?["policy_reward"] as? Double == test["policy_reward"] as? Double)
    }

    /// A `--set` that names no field (here a head of a field that is no dictionary) stops the
    /// command before it reads data or creates the run store, with an error naming it.
    @Test func aBadOverrideIsRefusedBeforeAnythingIsWritten() throws {
        try #require(FileManager.default.isExecutableFile(atPath: ServeProcessTests.tuner.path), "no tuner binary at \(ServeProcessTests.tuner.path)")
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("train-process-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let (status, message) = try Self.refusal(["train", "--mode", "offline", "--out", out.path, "--set", "epochs.k=2"])
        #expect(status != 0)
        #expect(message.contains("--set: invalid PPO configuration: epochs.k must be field.head for one of entropyCoefficientByHead"), "\(message)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    /// `tuner evaluate` holds settings to the policy configuration's bounds as `tuner serve`
    /// does (it once scored k = 1,000,000,000).
    @Test func tunerEvaluateRefusesSettingsOutsideThePolicyBounds() throws {
        try #require(FileManager.default.isExecutableFile(atPath: ServeProcessTests.tuner.path), "no tuner binary at \(ServeProcessTests.tuner.path)")
        let refused = try Self.refusal(["evaluate", "--dataset", "datasets/demo", "--k", "1000000000", "--json"])
        #expect(refused.status != 0 && refused.message.contains("settings: k is 1000000000, expected 3...32"), "\(refused.message)")
    }
}

/// `tuner ablate` as a real process: one tracked run per ablation, each judged, and one page of all.
@Suite struct AblateProcessTests {
    @Test func everyAblationIsATrackedRunWithItsVerdict() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("ablate-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let page = out.appendingPathComponent("ablation.html")
        let printed = try TrainProcessTests.tuner(["ablate", "--steps", "1024", "--gamma", "1.0", "--delta", "1.0", "--out", out.path,
                                                   "--html", page.path, "--json"])
        let rows = try #require(printed["ablations"] as? [[String: Any]])
        #expect(rows.compactMap { $0["ablation"] as? String } == ["baseline", "gamma=1.0", "delta=1.0", "frozen:variant", "frozen:k", "frozen:rerank",
                                                                 "frozen:fusion_weight", "frozen:template", "k:softmax"])
        let store = try RunStore(folder: out)
        for row in rows {
            let id = try #require(row["run_id"] as? String)
            let record = try store.run(id)
            #expect(record.status == .finished && record.experiment == "ablate:demo" && record.command.hasSuffix("[ablation \(row["ablation"]!)]"))
            let test = try #require((row["report"] as? [String: Any])?["test"] as? [String: Any])
            #expect(test["gain_vs_default"] is [String: Double] && test["gain_vs_best_static"] is [String: Double])
            // A frozen head is the default's in every configuration the run serves.
            if row["ablation"] as? String == "frozen:rerank" {
                let configs = try #require(test["policy_configs"] as? [String: [String: Any]])
                #expect(!configs.isEmpty && configs.values.allSatisfy { $0["rerank"] as? Bool == false })
            }
        }
        // Its weights are not in its settings, so an ablation run is not resumed as a plain run.
        let resumed = try TrainProcessTests.refusal(["train", "--mode", "offline", "--out", out.path, "--resume", rows[1]["run_id"] as! String])
        #expect(resumed.status != 0 && resumed.message.contains("cannot be resumed"))
        let html = try String(contentsOf: page, encoding: .utf8)
        #expect(html.components(separatedBy: "<section class=\"panel\"").count - 1 == 6)
        #expect(rows.allSatisfy { html.contains($0["run_id"] as! String) && html.contains("<strong>\($0["ablation"] as! String)</strong>") })
    }
}
