import Evaluators
import Foundation
import Pipeline
import Testing
import Tuning
import TunerPolicy
import TunerServer

/// The Grafana dashboard queries only what the servers expose: `tuner serve`, `tuner shadow` and
/// `tuner canary` run on 127.0.0.1 with traffic through each, and every metric a panel's PromQL
/// names is among the samples their `GET /metrics` return — shadow's and canary's own included.
@Suite struct GrafanaDashboardTests {
    /// Sample names in a Prometheus text exposition (histograms as `_bucket`, `_sum`, `_count`).
    static func sampleNames(_ exposition: String) -> Set<String> {
        Set(exposition.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { String($0.prefix { $0 != "{" && $0 != " " }) })
    }

    static func scrape(_ server: URL) async throws -> String {
        let reply = try await Loopback.request(server.appendingPathComponent("metrics"))
        #expect(reply.status == 200)
        return String(decoding: reply.body, as: UTF8.self)
    }

    @Test func everyPanelQueriesAMetricTheServersExpose() async throws {
        let evaluator = Loopback.evaluator
        let production = TunerServer(evaluator: evaluator, policy: nil)
        let dataset = evaluator.setup.dataset
        let questions = try evaluator.setup.queries(split: "test").map { dataset.queries[$0] }
        var expositions: [String: String] = [:]
        try await Loopback.withServer({ production.application(port: 0, onRunning: $0) }) { productionURL in
            // BM25 with three passages breaches the demo's quality gates: breaches are counted.
            let weak = RAGSettings(variant: .bm25, k: 3, rerank: false, fusionWeight: 0.5, template: .ranked)
            let evaluate = try await Loopback.request(
                productionURL.appendingPathComponent("tuner/evaluate"), method: "POST",
                body: try JSONEncoder().encode(EvaluatorProtocol.Request(configuration: weak.configuration, batch: .init(size: 30, split: "test", seed: 1))))
            #expect(evaluate.status == 200)

            let comparison = ShadowComparison(reward: evaluator.setup.reward, windowSize: 5, windowsForVerdict: 2)
            let shadow = ShadowProxy(production: productionURL, candidate: .network(PolicyHandle(try DecisionBenchmark.defaultPolicy(seed: 2))),
                                     comparison: comparison, corpusDocuments: dataset.documents.count, timeout: 120)
            let worker = Task { await shadow.runCandidate() }
            defer { worker.cancel() }
            try await Loopback.withServer({ shadow.application(port: 0, onRunning: $0) }) { proxy in
                for q in questions.prefix(10) {
                    let reply = try await Loopback.request(proxy.appendingPathComponent("query"), method: "POST",
                                                           body: try JSONEncoder().encode(TunerServer.Query(question: q.text, category: q.category)))
                    #expect(reply.status == 200)
                }
                for _ in 0..<600 where shadow.counters.compared < 10 { try await Task.sleep(nanoseconds: 50_000_000) }
                #expect(comparison.windows.count == 2)
                expositions["shadow"] = try await Self.scrape(proxy)
            }

            let baseline = PolicyHandle(try CanaryTests.constantPolicy(CanaryTests.weak, seed: 1))
            let candidate = PolicyHandle(try CanaryTests.constantPolicy(CanaryTests.strong, seed: 2))
            var options = CanaryController.Options()
            options.steps = [50, 100]
            options.windowRequests = 20
            options.rule.minimumPerArm = 2
            let controller = try CanaryController(split: TrafficSplit(percentage: 0), reward: evaluator.setup.reward, options: options)
            let canary = CanaryProxy(production: productionURL, baseline: .network(baseline), candidate: .network(candidate), controller: controller, corpusDocuments: dataset.documents.count, timeout: 120)
            try await Loopback.withServer({ canary.application(port: 0, onRunning: $0) }) { proxy in
                let arms = try await CanaryTests.drive(proxy, requests: 0..<40)
                #expect(arms.contains("candidate") && arms.contains("baseline"))
                #expect(controller.evaluations.count == 2)
                expositions["canary"] = try await Self.scrape(proxy)
            }
            expositions["serve"] = try await Self.scrape(productionURL)
        }

        let exposed = expositions.values.reduce(into: Set<String>()) { $0.formUnion(Self.sampleNames($1)) }
        let dashboard = GrafanaDashboard(gates: evaluator.setup.reward.gates)
        let queried = Set(dashboard.expressions.flatMap { e in
            e.matches(of: /tuner_[a-z0-9_]+/).map { String($0.output) }
        })
        #expect(queried.count >= 17)
        #expect(queried.subtracting(exposed).isEmpty, "queried but exposed by no server: \(queried.subtracting(exposed).sorted())")
        // Shadow and canary export metrics of their own, and their /query requests by arm.
        let shadow = Self.sampleNames(expositions["shadow"]!), canary = Self.sampleNames(expositions["canary"]!)
        #expect(shadow.contains("tuner_shadow_mirrored_total") && shadow.contains("tuner_shadow_window_reward"))
        #expect(canary.contains("tuner_canary_burn_rate") && canary.contains("tuner_canary_decisions_total"))
        #expect(expositions["shadow"]!.contains(#"tuner_shadow_candidate_total{result="compared"} 10"#))
        #expect(expositions["canary"]!.contains(#"endpoint="/query""#) && expositions["canary"]!.contains(#"arm="candidate""#))

        // The JSON model Grafana imports: every panel a Prometheus time series with its queries,
        // the gates drawn where the panel's unit is theirs.
        let model = try #require(try JSONSerialization.jsonObject(with: dashboard.json) as? [String: Any])
        let panels = try #require(model["panels"] as? [[String: Any]]).filter { $0["type"] as? String == "timeseries" }
        #expect(panels.count == dashboard.rows.map(\.panels.count).reduce(0, +))
        let latency = try #require(panels.first { $0["title"] as? String == "Window p95 latency by arm" })
        let steps = (((latency["fieldConfig"] as? [String: Any])?["defaults"] as? [String: Any])?["thresholds"] as? [String: Any])?["steps"] as? [[String: Any]]
        #expect(steps?.last?["value"] as? Double == evaluator.setup.reward.gates.latencyP95MaxMilliseconds)
    }
}
