import Foundation
import Testing
import TunerPolicy
import TunerServer
import Tuning

/// `POST /decide` and `POST /outcome` on a real server: the answer is what the Swift module
/// decides for the same context, the decision and its outcome land in the decision log as the
/// module writes them, and a bad field is a 400 naming it.
@Suite struct DecisionEndpointTests {
    @Test func decisionsOverHTTPAreTheModulesAndAreLogged() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("decide-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let policy = try DecisionBenchmark.defaultPolicy(seed: 3)
        let logURL = folder.appendingPathComponent("decisions.jsonl")
        let token = "decide-token-0123456789"
        let server = TunerServer(evaluator: Loopback.evaluator, policy: PolicyHandle(policy), log: try DecisionLogWriter(url: logURL),
                                 accessToken: try AccessToken(token))
        try await Loopback.withServer({ server.application(port: 0, onRunning: $0) }) { base in
            func post(_ path: String, _ object: [String: Any], token: String? = nil) async throws -> Loopback.Reply {
                try await Loopback.request(base.appendingPathComponent(path), method: "POST", body: try JSONSerialization.data(withJSONObject: object),
                                           headers: token.map { ["Authorization": "Bearer \($0)"] } ?? [:])
            }
            var ids: [String] = []
            for (i, category) in ["warranty", "overview", "error_code", "never_seen"].enumerated() {
                let context = PolicyContext(category: category, faithfulness: 0.2 * Double(i), relevancy: 0.9 - 0.1 * Double(i), latencyP50Milliseconds: 100 + 50 * Double(i),
                                            latencyP95Milliseconds: 300 + 90 * Double(i), costUSD: 0.0002 * Double(i + 1), corpusDocuments: 480 * (i + 1))
                var body: [String: Any] = ["category": category, "faithfulness": context.faithfulness, "relevancy": context.relevancy,
                                           "latency_p50_ms": context.latencyP50Milliseconds, "latency_p95_ms": context.latencyP95Milliseconds,
                                           "cost_usd": context.costUSD, "corpus_documents": context.corpusDocuments]
                if i == 3 { body["seed"] = 11 }
                let reply = try await post("decide", body)
                #expect(reply.status == 200, "\(String(decoding: reply.body, as: UTF8.self))")
                let answer = try JSONDecoder().decode(TunerServer.DecideResponse.self, from: reply.body)
                let local = policy.decide(context, mode: i == 3 ? .sampled(seed: 11) : .deterministic)
                #expect(answer.configuration == local.settings.configuration && abs(answer.probability - local.probability) < 1e-9 * local.probability)
                #expect(answer.policyVersion == policy.version && !ids.contains(answer.decisionID))
                ids.append(answer.decisionID)
            }
            let outcome: [String: Any] = ["decision_id": ids[0], "outcome": ["latency_ms": 210.0, "cost_usd": 0.0004, "faithfulness": 0.9, "relevancy": 0.8]]
            #expect(try await post("outcome", outcome).status == 401)
            #expect(try await post("outcome", outcome, token: token).status == 204)
            let refused = try await post("outcome", ["decision_id": ids[1], "outcome": ["latency_ms": -1.0]], token: token)
            #expect(refused.status == 400 && String(decoding: refused.body, as: UTF8.self).contains("outcome.latency_ms"))
            let bad = try await post("decide", ["category": "warranty", "faithfulness": 1.5, "relevancy": 0.5, "latency_p50_ms": 1, "latency_p95_ms": 2,
                                                "cost_usd": 0, "corpus_documents": 10])
            #expect(bad.status == 400 && String(decoding: bad.body, as: UTF8.self).contains("'faithfulness'"))
            let old = try await post("decide", ["category": "warranty", "faithfulness": 0.5, "relevancy": 0.5, "latency_p50_ms": 1, "latency_p95_ms": 2,
                                                "cost_usd": 0, "corpus_documents": 10, "corpus_age_days": -3])
            #expect(old.status == 400 && String(decoding: old.body, as: UTF8.self).contains("'corpus_age_days'"))
            let missing = try await post("decide", ["category": "warranty"])
            #expect(missing.status == 400 && String(decoding: missing.body, as: UTF8.self).contains("missing field"))
        }
        // The log: four decisions with the probabilities answered, the first joined with its outcome.
        let log = try DecisionLog.read(logURL)
        #expect(log.decisionCount == 4 && log.badLines.isEmpty && log.orphanOutcomes == 0 && log.policyVersions == [policy.version: 4])
        let first = try #require(log.records.first)
        #expect(first.reward != nil)
    }
}
