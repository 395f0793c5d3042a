import Evaluators
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Scoring
import Testing
import TunerPolicy

/// The example service in Examples/python-service — a RAG service of its own over SciFact, with
/// knobs that are not the tuner's — started with python3 and tuned through the evaluator protocol.
@Suite(.serialized) struct PythonServiceTests {
    static let folder = Loopback.repository.appendingPathComponent("Examples/python-service")
    static let dataset = Loopback.repository.deletingLastPathComponent().appendingPathComponent("shared/datasets/scifact")

    /// The service on a free loopback port, stopped when `body` returns; `tuner` is the URL its
    /// POST /query asks for decisions.
    static func withService<T>(tuner: URL? = nil, _ body: (URL) async throws -> T) async throws -> T {
        try #require(FileManager.default.fileExists(atPath: dataset.appendingPathComponent("corpus.jsonl").path), "SciFact is not at \(dataset.path)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", folder.appendingPathComponent("service.py").path, "--dataset", dataset.path, "--port", "0"]
            + (tuner.map { ["--tuner", $0.absoluteString, "--decide-timeout", "2"] } ?? [])
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        // The service prints {"listening": URL} once it accepts connections.
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            try #require(!chunk.isEmpty, "the service exited before listening")
            line.append(chunk)
        }
        let announced = try #require(try JSONSerialization.jsonObject(with: line.prefix { $0 != UInt8(ascii: "\n") }) as? [String: String])
        let listening = try #require(announced["listening"])
        return try await body(try #require(URL(string: listening)))
    }

    static func policy() throws -> PolicyConfiguration {
        try PolicyConfiguration.load(from: folder.appendingPathComponent("policy.yaml"), variants: [], templates: [])
    }

    /// Its description declares the knobs its policy file declares; a configuration those knobs
    /// refuse is a 422 naming the knob, and a knob left out takes its default.
    @Test func theServiceSpeaksTheProtocolWithItsOwnKnobs() async throws {
        let declared = try #require(try Self.policy().serviceKnobs)
        try await Self.withService { base in
            let description = try #require(try await RemoteEvaluator(baseURL: base).describe())
            #expect(description.knobs == declared)
            #expect(Set(description.splits["train"]!.keys) == ["short", "medium", "long"] && description.gates.relevancyMin == 0.35)
            for (configuration, message) in [
                (#"{"answer_model":"huge"}"#, "knob 'answer_model' is 'huge', expected one of small, large"),
                (#"{"top_k":0}"#, "knob 'top_k' is 0, expected an integer in 1...10"),
                (#"{"rewrite_query":1}"#, "knob 'rewrite_query' is 1, expected true or false"),
                (#"{"variant":"bm25"}"#, "knob 'variant' is not declared"),
            ] {
                let body = #"{"configuration":\#(configuration),"batch":{"size":5,"split":"test","seed":1}}"#
                let reply = try await Loopback.request(base.appendingPathComponent("tuner/evaluate"), method: "POST", body: Data(body.utf8))
                #expect(reply.status == 422 && String(decoding: reply.body, as: UTF8.self).contains(message), "\(String(decoding: reply.body, as: UTF8.self))")
            }
            let ids = Array(description.splits["test"]!["short"]!.prefix(4))
            let request = EvaluatorProtocol.Request(configuration: Configuration(["top_k": .integer(5)]), questions: .init(split: "test", ids: ids))
            let response = try await RemoteEvaluator(baseURL: base).evaluate(request)
            var applied = declared.defaults
            applied["top_k"] = .integer(5)
            #expect(response.configuration == applied && response.queries?.map(\.id) == ids && response.overall.n == 4)
        }
    }

    /// `tuner train --evaluator` with the service's knobs: within its budget, the chosen
    /// configuration beats the service's default on every held-out question with an interval above
    /// zero, and every category is served a configuration of the declared knobs. Then the run's
    /// table is served (`tuner serve --checkpoint`) and the service's POST /query asks it for
    /// each decision, and answers with the defaults once it is gone.
    @Test func theTunerTunesTheServicesKnobs() async throws {
        let declared = try #require(try Self.policy().serviceKnobs)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("python-service-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        try await Self.withService { base in
            let result = try TrainProcessTests.tuner([
                "train", "--mode", "offline", "--evaluator", base.absoluteString, "--policy", Self.folder.appendingPathComponent("policy.yaml").path,
                "--budget-queries", "3000", "--evaluator-concurrency", "4", "--out", out.path, "--json",
            ])
            let spent = try #require(result["query_evaluations"] as? Int)
            #expect(spent <= 3_000 && spent > 2_500 && result["stopped_by"] as? String == "budget", "\(result)")
            let test = try #require(result["test"] as? [String: Any])
            let gain = try #require(test["gain_vs_default"] as? [String: Double])
            #expect(gain["ci_low"]! > 0, "gain over the service's default: \(gain)")
            let served = try #require(result["policy_configs"] as? [String: Any])
            #expect(Set(served.keys) == ["short", "medium", "long"])
            for (category, object) in served {
                let configuration = try JSONDecoder().decode(Configuration.self, from: JSONSerialization.data(withJSONObject: object))
                #expect(declared.problem(in: configuration) == nil && configuration != declared.defaults, "\(category): \(configuration)")
            }
            let table = try ConfigurationTable(contentsOf: out.appendingPathComponent(try #require(result["run_id"] as? String)).appendingPathComponent("policy.ckpt"))
            #expect(table.knobs == declared && Set(table.categories.keys) == Set(served.keys) && table.unseen == declared.defaults)
            try await Self.askTheServedTable(table)
        }
    }

    /// The service asks `tuner serve --checkpoint <table>` per request: a known category gets its
    /// row, an unknown one the service's defaults, a `current` the declaration refuses is a 400;
    /// with the tuner stopped the service still answers, with its defaults. The table is served
    /// from outside the repository with no dataset: decisions only, no `/query` of the built-in
    /// pipeline.
    static func askTheServedTable(_ table: ConfigurationTable) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("table-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("policy.ckpt")
        try table.write(to: file)
        let serve = try ServeProcessTests.launch(["serve", "--port", "0", "--checkpoint", file.path, "--decision-log", folder.appendingPathComponent("decisions.jsonl").path],
                                                 until: "tuner serve: http://", in: folder)
        defer { _ = serve.stop() }
        #expect(serve.output.contains("decisions only, from configuration table \(table.version)"), "\(serve.output)")
        let tuner = try #require(serve.output.split(separator: " ").first { $0.hasPrefix("http://") }.flatMap { URL(string: String($0)) })
        let health = try #require(try await Loopback.request(tuner.appendingPathComponent("health")).json as? [String: Any])
        #expect(health["policy_version"] as? String == table.version && health["dataset"] == nil, "\(health)")
        let query = try await Loopback.request(tuner.appendingPathComponent("query"), method: "POST", body: Data(#"{"question":"q"}"#.utf8))
        #expect(query.status == 404)
        let refused = try await Loopback.request(tuner.appendingPathComponent("decide"), method: "POST", body: Data(#"""
            {"category":"short","faithfulness":0.5,"relevancy":0.5,"latency_p50_ms":1,"latency_p95_ms":2,"cost_usd":0,"corpus_documents":10,"current":{"top_k":64}}
            """#.utf8))
        #expect(refused.status == 400 && String(decoding: refused.body, as: UTF8.self).contains("knob 'top_k' is 64"), "\(String(decoding: refused.body, as: UTF8.self))")
        try await withService(tuner: tuner) { service in
            for (category, expected) in [("short", table.categories["short"]), ("long", table.categories["long"]), ("never-seen", table.unseen)] {
                let body = try JSONSerialization.data(withJSONObject: ["question": "Vitamin D deficiency raises the risk of fractures.", "category": category])
                let reply = try #require(try await Loopback.request(service.appendingPathComponent("query"), method: "POST", body: body).json as? [String: Any])
                let applied = try JSONDecoder().decode(Configuration.self, from: JSONSerialization.data(withJSONObject: try #require(reply["configuration"])))
                #expect(reply["source"] as? String == "tuner" && applied == expected && reply["decision_id"] is String, "\(category): \(reply)")
            }
            let log = String(decoding: try Data(contentsOf: folder.appendingPathComponent("decisions.jsonl")), as: UTF8.self)
            #expect(log.split(separator: "\n").count == 3 && log.contains(#""policy_version":"\#(table.version)""#), "\(log)")
            _ = serve.stop()
            let body = try JSONSerialization.data(withJSONObject: ["question": "Vitamin D deficiency raises the risk of fractures.", "category": "short"])
            let fallback = try #require(try await Loopback.request(service.appendingPathComponent("query"), method: "POST", body: body).json as? [String: Any])
            #expect(fallback["source"] as? String == "default", "\(fallback)")
        }
    }

    /// `tuner shadow` and `tuner canary` with a configuration table over the service's knobs, in
    /// front of the service answering with its defaults. The candidate side's answers come from the
    /// service given the table's configuration (X-RAG-Configuration): each shadow window's
    /// difference is the one the protocol's per-question results give for the same questions. The
    /// canary's candidate arm answers with the table's row, its baseline arm as production chooses.
    /// Both judge by the gates the service states. A table over other knobs than the policy
    /// file's is refused at start, and so is a policy file the service's own description
    /// contradicts.
    @Test func aTableIsProvedBesideProductionInShadowAndCanary() async throws {
        let policy = try Self.policy()
        let declared = try #require(policy.serviceKnobs)
        var chosen = declared.defaults
        chosen["chunk_words"] = .integer(256)
        chosen["rewrite_query"] = .flag(false)
        chosen["top_k"] = .integer(5)
        let table = try ConfigurationTable(knobs: declared, categories: ["short": chosen, "medium": chosen, "long": chosen], unseen: declared.defaults)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("beside-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("table.ckpt")
        try table.write(to: file)
        let policyFile = Self.folder.appendingPathComponent("policy.yaml").path

        let refused = try TrainProcessTests.refusal(["shadow", "--production", "http://127.0.0.1:9", "--candidate", file.path, "--port", "0"])
        #expect(refused.status != 0 && refused.message.contains("knobs the service's policy file does not admit: knob 'answer_model'"), "\(refused.message)")

        // Test questions whose text is asked once, so an answer's judgement names one question.
        var texts: [String: (text: String, category: String)] = [:]
        for line in try String(contentsOf: Self.dataset.appendingPathComponent("queries.jsonl"), encoding: .utf8).split(separator: "\n") {
            let q = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            texts[q["_id"] as! String] = (q["text"] as! String, q["category"] as? String ?? "default")
        }
        let asked = Dictionary(grouping: texts.values.map(\.text), by: { $0 }).filter { $0.value.count == 1 }
        try await Self.withService { base in
            let description = try #require(try await RemoteEvaluator(baseURL: base).describe())
            let ids = Array(description.splits["test"]!.values.joined().filter { asked[texts[$0]!.text] != nil }.sorted().prefix(40))
            try #require(ids.count == 40)
            let comparison = ShadowComparison(reward: RewardFunction(policy))
            func rewards(_ c: Configuration) async throws -> [Double] {
                let response = try await RemoteEvaluator(baseURL: base).evaluate(.init(configuration: c, questions: .init(split: "test", ids: ids)))
                return try #require(response.queries).map {
                    comparison.queryReward(.init(faithfulness: $0.faithfulness, relevancy: $0.relevancy, latencyMilliseconds: $0.latencyMilliseconds,
                                                 costUSD: $0.costUSD, failed: $0.error))
                }
            }
            let differences = zip(try await rewards(chosen), try await rewards(declared.defaults)).map { $0 - $1 }

            // A network of the built-in pipeline passes the pipeline's policy file, which production's own description contradicts.
            let network = folder.appendingPathComponent("network.ckpt")
            try CanaryTests.constantPolicy(RAGSettings(), seed: 4).checkpoint.write(to: network)
            let contradicted = try TrainProcessTests.refusal(["shadow", "--production", base.absoluteString, "--candidate", network.path, "--port", "0"])
            #expect(contradicted.status != 0 && contradicted.message.contains("--policy's knobs do not fit production's (GET /tuner/evaluator): knob 'variant'"),
                    "\(contradicted.message)")

            let shadow = try ServeProcessTests.launch(
                ["shadow", "--production", base.absoluteString, "--candidate", file.path, "--policy", policyFile, "--window", "20", "--windows", "2", "--port", "0"],
                until: "listening")
            defer { _ = shadow.stop() }
            let listening = try #require(try JSONSerialization.jsonObject(with: Data(shadow.output.prefix { $0 != "\n" }.utf8)) as? [String: Any])
            let proxy = try #require((listening["listening"] as? String).flatMap { URL(string: $0) })
            for id in ids {
                let body = try JSONSerialization.data(withJSONObject: ["question": texts[id]!.text, "category": texts[id]!.category])
                let reply = try #require(try await Loopback.request(proxy.appendingPathComponent("query"), method: "POST", body: body).json as? [String: Any])
                #expect(reply["source"] as? String == "default" && reply["judgement"] != nil, "\(reply)")
            }
            var status: [String: Any] = [:]
            for _ in 0..<300 {
                status = try #require(try await Loopback.request(proxy.appendingPathComponent("shadow/status")).json as? [String: Any])
                if (status["counters"] as? [String: Any])?["compared"] as? Int == 40 { break }
                try await Task.sleep(nanoseconds: 100_000_000)
            }
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            let windows = try decoder.decode([ShadowComparison.Window].self, from: JSONSerialization.data(withJSONObject: try #require(status["windows"])))
            #expect(windows.count == 2 && status["candidate_version"] as? String == table.version, "\(status)")
            for (w, window) in windows.enumerated() {
                let expected = differences[(20 * w)..<(20 * w + 20)].reduce(0, +) / 20
                #expect(abs(window.difference.estimate - expected) < 1e-4, "window \(w): \(window.difference.estimate) against \(expected)")
            }
            #expect(differences.reduce(0, +) > 0, "the table's configuration gains on these questions: \(differences)")
            // Judged by the gates the service states (0.25 / 0.35), not the policy file's defaults (0.75 / 0.75).
            let stopped = shadow.stop()
            #expect(stopped.contains("gates as production states them (GET /tuner/evaluator, dataset scifact-python-service)"), "\(stopped)")
            #expect(windows.allSatisfy { $0.candidateGatesPassed }, "\(windows.map(\.candidateBreaches))")

            let canary = try ServeProcessTests.launch(
                ["canary", "--production", base.absoluteString, "--candidate", file.path, "--policy", policyFile, "--steps", "50,100", "--window", "20",
                 "--minimum-per-arm", "2", "--incidents", folder.appendingPathComponent("incidents").path, "--port", "0"], until: "listening")
            defer { _ = canary.stop() }
            let announced = try #require(try JSONSerialization.jsonObject(with: Data(canary.output.prefix { $0 != "\n" }.utf8)) as? [String: Any])
            let router = try #require((announced["listening"] as? String).flatMap { URL(string: $0) })
            var arms: Set<String> = []
            for (i, id) in ids.enumerated() {
                let body = try JSONSerialization.data(withJSONObject: ["question": texts[id]!.text, "category": texts[id]!.category])
                let reply = try await Loopback.request(router.appendingPathComponent("query"), method: "POST", body: body, headers: ["X-User-ID": "user-\(i)"])
                let arm = try #require(reply.headers["x-canary-arm"])
                let answer = try #require(reply.json as? [String: Any])
                let applied = try JSONDecoder().decode(Configuration.self, from: JSONSerialization.data(withJSONObject: try #require(answer["configuration"])))
                let expected = arm == "candidate" ? (chosen, "override") : (declared.defaults, "default")
                #expect(applied == expected.0 && answer["source"] as? String == expected.1, "\(arm): \(answer)")
                arms.insert(arm)
            }
            #expect(arms == ["baseline", "candidate"])
            let printed = canary.read(until: "evaluation")
            #expect(printed.contains("\"evaluation\""), "\(printed)")
        }
    }

    /// A declaration that does not fit the service's is refused before anything is paid, naming the knob.
    @Test func aMismatchedDeclarationIsRefused() async throws {
        let policy = try String(contentsOf: Self.folder.appendingPathComponent("policy.yaml"), encoding: .utf8)
        let wider = FileManager.default.temporaryDirectory.appendingPathComponent("wider-\(UUID().uuidString).yaml")
        defer { try? FileManager.default.removeItem(at: wider) }
        try policy.replacingOccurrences(of: "max: 10", with: "max: 20").write(to: wider, atomically: true, encoding: .utf8)
        try await Self.withService { base in
            let (status, _, errors) = try TrainProcessTests.run([
                "train", "--mode", "offline", "--evaluator", base.absoluteString, "--policy", wider.path, "--out", NSTemporaryDirectory(),
            ])
            #expect(status != 0 && errors.contains("knob 'top_k' is declared as"), "\(errors)")
            let health = try await Loopback.request(base.appendingPathComponent("health"))
            #expect(String(decoding: health.body, as: UTF8.self).contains(#""evaluated_queries": 0"#))
        }
        // The built-in pipeline cannot apply the service's knobs: serving or replaying it under
        // them is refused, and says how to tune them.
        for command in [["serve", "--port", "0"], ["train", "--mode", "offline", "--out", NSTemporaryDirectory()]] {
            let (status, _, errors) = try TrainProcessTests.run(command + ["--policy", Self.folder.appendingPathComponent("policy.yaml").path])
            #expect(status != 0 && errors.contains("declares the knobs of another service (answer_model, chunk_words, top_k, rewrite_query)")
                    && errors.contains("--evaluator URL"), "\(command): \(errors)")
        }
    }
}
