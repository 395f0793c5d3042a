import Foundation
import Testing
import TunerPolicy
import TunerServer

/// `tuner shadow` as a process: it listens where `--host` says (a proxy in front of production
/// must be reachable by production's clients), and a candidate checkpoint of NaN weights is
/// refused before it listens, naming the tensor — it once loaded and crashed the proxy on the
/// first mirrored query.
@Suite final class ProxyProcessTests {
    /// A folder of the test's own, removed after it, and a valid candidate checkpoint.
    let folder: URL
    var checkpoint: PolicyCheckpoint

    init() throws {
        try #require(FileManager.default.isExecutableFile(atPath: ServeProcessTests.tuner.path), "no tuner binary at \(ServeProcessTests.tuner.path)")
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("proxy-process-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        checkpoint = try CanaryTests.constantPolicy(RAGSettings(), seed: 4).checkpoint
    }

    deinit { try? FileManager.default.removeItem(at: folder) }

    @Test func theShadowProxyListensOnItsHostAndRefusesACandidateThatCannotServe() async throws {
        let good = folder.appendingPathComponent("candidate.ckpt"), poisoned = folder.appendingPathComponent("nan.ckpt")
        try checkpoint.write(to: good)
        checkpoint.parameters = checkpoint.parameters.map { _ in .nan }
        try checkpoint.write(to: poisoned)

        let refused = try TrainProcessTests.refusal(["shadow", "--production", "http://127.0.0.1:9", "--candidate", poisoned.path, "--port", "0"])
        #expect(refused.status != 0 && refused.message.contains("tensor 'parameters' has nan"), "\(refused.message)")
        let missing = folder.appendingPathComponent("missing.ckpt").path
        let absent = try TrainProcessTests.refusal(["shadow", "--production", "http://127.0.0.1:9", "--candidate", missing, "--port", "0"])
        #expect(absent.status != 0 && absent.message.contains("\(missing): cannot be read: no such file"), "\(absent.message)")

        let launched = try ServeProcessTests.launch(
            ["shadow", "--production", "http://127.0.0.1:9", "--candidate", good.path, "--host", "127.0.0.2", "--port", "0"], until: "listening")
        let text = launched.output
        let line = try #require(try JSONSerialization.jsonObject(with: Data(text.prefix { $0 != "\n" }.utf8)) as? [String: Any])
        let address = try #require(line["listening"] as? String)
        #expect(address.hasPrefix("http://127.0.0.2:"), "\(address)")
        #expect(try await Loopback.request(try #require(URL(string: address)).appendingPathComponent("health")).status == 200)
    }

    /// A checkpoint carries the knobs it was trained under: one whose k reaches past what the
    /// server's policy file admits is refused at start, naming the knob; with the server's own
    /// knobs it serves, and a mismatched file put in its place is refused on reload while the
    /// running policy keeps serving.
    @Test func serveRefusesAPolicyTrainedUnderOtherKnobs() async throws {
        let shipped = Loopback.evaluator.knobs
        var wider = shipped.knobs
        let k = try #require(wider.firstIndex { $0.name == "k" })
        wider[k].kind = .integer(range: 3...64, grid: [3, 64], logNormal: true)
        let mismatched = try KnobDeclaration(wider)
        let problem = "tuned under knobs the service's policy file does not admit: knob 'k' is declared as an integer in 3...64"
        checkpoint.knobs = mismatched
        let file = folder.appendingPathComponent("trained.ckpt"), tokenFile = folder.appendingPathComponent("token")
        try checkpoint.write(to: file)
        let refused = try TrainProcessTests.refusal(["serve", "--port", "0", "--checkpoint", file.path])
        #expect(refused.status != 0 && refused.message.contains(problem), "\(refused.message)")

        checkpoint.knobs = shipped
        try checkpoint.write(to: file)
        let version = try RAGPolicy(contentsOf: file).version
        let token = "s3cret-\(UUID().uuidString)"
        try Data("\(token)\n".utf8).write(to: tokenFile)
        let serve = try ServeProcessTests.launch(["serve", "--port", "0", "--checkpoint", file.path, "--auth-token-file", tokenFile.path],
                                                 until: "tuner serve: http://")
        let base = try #require(serve.output.split(separator: " ").first { $0.hasPrefix("http://") }.flatMap { URL(string: String($0)) })
        #expect(try await Loopback.request(base.appendingPathComponent("health")).status == 200)

        checkpoint.knobs = mismatched
        try checkpoint.write(to: file)
        let reload = try await Loopback.request(base.appendingPathComponent("admin/reload"), method: "POST", headers: ["Authorization": "Bearer \(token)"])
        let message = String(decoding: reload.body, as: UTF8.self)
        #expect(reload.status == 422 && message.contains(problem) && message.contains(version), "\(message)")
        _ = serve.stop()
    }

    /// A shadow whose candidate service is down says so at once (a `candidate_failing` line and
    /// `GET /shadow/status`), long before a verdict; reloading checkpoints needs the bearer token,
    /// a reloaded checkpoint of NaN weights is refused while production's answers pass through
    /// unchanged, and the token appears in no output.
    @Test func aFailingCandidateIsReportedAtOnceAndReloadsNeedTheToken() async throws {
        let policyFile = folder.appendingPathComponent("policy.ckpt"), tokenFile = folder.appendingPathComponent("token")
        try checkpoint.write(to: policyFile)
        let version = try RAGPolicy(contentsOf: policyFile).version
        let token = "s3cret-\(UUID().uuidString)"
        try Data("\(token)\n".utf8).write(to: tokenFile)
        let bearer = ["Authorization": "Bearer \(token)"]

        let serve = try ServeProcessTests.launch(
            ["serve", "--dataset", Loopback.repository.appendingPathComponent("datasets/demo").path, "--port", "0", "--checkpoint", policyFile.path,
             "--auth-token-file", tokenFile.path], until: "tuner serve: http://")
        let production = try #require(serve.output.split(separator: " ").first { $0.hasPrefix("http://") }.flatMap { URL(string: String($0)) })
        let reload = production.appendingPathComponent("admin/reload")
        #expect(try await Loopback.request(reload, method: "POST").status == 401)
        #expect(try await Loopback.request(reload, method: "POST", headers: ["Authorization": "Bearer \(token.dropLast())x"]).status == 401)
        let reloaded = try await Loopback.request(reload, method: "POST", headers: bearer)
        #expect(reloaded.status == 200 && (reloaded.json as? [String: Any])?["policy_version"] as? String == version)

        let shadow = try ServeProcessTests.launch(
            ["shadow", "--production", production.absoluteString, "--candidate", policyFile.path, "--candidate-service", "http://127.0.0.1:9",
             "--port", "0", "--auth-token-file", tokenFile.path], until: "listening")
        let listening = try #require(try JSONSerialization.jsonObject(with: Data(shadow.output.prefix { $0 != "\n" }.utf8)) as? [String: Any])
        let proxy = try #require((listening["listening"] as? String).flatMap { URL(string: $0) })
        let evaluator = Loopback.evaluator
        let q = try #require(try evaluator.setup.queries(split: "test").first)
        let query = try JSONEncoder().encode(TunerServer.Query(question: evaluator.setup.dataset.queries[q].text, category: evaluator.setup.dataset.queries[q].category))
        func answer(_ base: URL) async throws -> TunerServer.Answer {
            let reply = try await Loopback.request(base.appendingPathComponent("query"), method: "POST", body: query, headers: ["X-Request-ID": "same"])
            #expect(reply.status == 200)
            return try JSONDecoder().decode(TunerServer.Answer.self, from: reply.body)
        }
        let direct = try await answer(production)
        _ = try await answer(proxy)
        let failing = shadow.read(until: "candidate_failing")
        let report = try #require(failing.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .compactMap { $0["candidate_failing"] as? [String: Any] }.first, "\(failing)")
        #expect(report["errors"] as? Int == 1 && (report["last_error"] as? String)?.contains("unreachable") == true, "\(report)")
        let status = try #require(try await Loopback.request(proxy.appendingPathComponent("shadow/status")).json as? [String: Any])
        #expect((status["counters"] as? [String: Any])?["candidate_errors"] as? Int == 1 && (status["windows"] as? [Any])?.isEmpty == true, "\(status)")

        checkpoint.parameters = checkpoint.parameters.map { _ in .nan }
        try checkpoint.write(to: policyFile)
        for server in [proxy, production] {
            let refused = try await Loopback.request(server.appendingPathComponent("admin/reload"), method: "POST", headers: bearer)
            let message = String(decoding: refused.body, as: UTF8.self)
            #expect(refused.status == 422 && message.contains("nan") && message.contains(version), "\(message)")
        }
        for _ in 0..<3 {
            let through = try await answer(proxy)
            #expect(through.configuration == direct.configuration && through.answer == direct.answer)
            #expect(through.judgement == direct.judgement && through.policyVersion == version)
        }
        for launched in [serve, shadow] {
            let printed = launched.stop()
            #expect(!printed.isEmpty && !printed.contains(token))
        }
    }
}
