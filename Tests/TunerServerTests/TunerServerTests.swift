import Evaluators
import Foundation
import Hummingbird
import Pipeline
import Scoring
import Synchronization
import Testing
import TunerPolicy
import TunerServer
import Tuning

/// Serialized: the load test and the remote training test each load the loopback server hard.
@Suite(.serialized) struct TunerServerTests {
    let settings = RAGSettings(variant: .hybrid, k: 5, rerank: true, fusionWeight: 0.25, template: .sandwich)
    var configuration: Configuration { settings.configuration }

    /// The protocol over HTTP gives exactly the local evaluation of the same batch, through the
    /// trainer's remote client too; bad batches are refused naming the field.
    @Test func evaluateOverHTTPEqualsTheLocalEvaluation() async throws {
        let server = TunerServer(evaluator: Loopback.evaluator, policy: nil)
        let request = EvaluatorProtocol.Request(configuration: configuration, batch: .init(size: 60, split: "test", seed: 9))
        let local = try Loopback.evaluator.evaluate(request).response
        #expect(local.overall.n == 60 && local.perCategory.values.reduce(0) { $0 + $1.n } == 60)
        try await Loopback.withServer({ server.application(port: 0, onRunning: $0) }) { base in
            let reply = try await Loopback.request(base.appendingPathComponent("tuner/evaluate"), method: "POST", body: try JSONEncoder().encode(request))
            #expect(reply.status == 200)
            #expect(try JSONDecoder().decode(EvaluatorProtocol.Response.self, from: reply.body) == local)
            #expect(try await RemoteEvaluator(baseURL: base).evaluate(request) == local)

            var category = request
            category.batch?.category = "warranty"
            let warranty = try await RemoteEvaluator(baseURL: base).evaluate(category)
            #expect(warranty.perCategory.keys.sorted() == ["warranty"] && warranty.overall.n <= 60)

            for (batch, message) in [
                (EvaluatorProtocol.Batch(size: 10, split: "validation"), "batch.split 'validation'"),
                (EvaluatorProtocol.Batch(size: 0), "batch.size is 0"),
                (EvaluatorProtocol.Batch(size: 10, category: "billing"), "batch.category 'billing'"),
            ] {
                let bad = try await Loopback.request(
                    base.appendingPathComponent("tuner/evaluate"), method: "POST",
                    body: try JSONEncoder().encode(EvaluatorProtocol.Request(configuration: configuration, batch: batch)))
                #expect(bad.status == 400 && String(decoding: bad.body, as: UTF8.self).contains(message))
            }
            // A configuration the declared knobs refuse is a 422 naming the knob; the description
            // declares them.
            let knobs = try #require(try await RemoteEvaluator(baseURL: base).describe()?.knobs)
            #expect(knobs.names == ["variant", "k", "rerank", "fusion_weight", "template"] && knobs.defaults == RAGSettings().configuration)
            for (configuration, message) in [
                (#"{"variant":"bm25","k":5.5,"rerank":false,"fusion_weight":0.5,"template":"ranked"}"#, "knob 'k' is 5.5, expected an integer in 3...32"),
                (#"{"variant":"bm25","k":64}"#, "knob 'k' is 64, expected an integer in 3...32"),
                (#"{"variant":"splade","k":5}"#, "knob 'variant' is splade, expected one of bm25, dense, hybrid, rrf"),
                (#"{"variant":"bm25","rerank":"yes"}"#, "knob 'rerank' is yes, expected true or false"),
                (#"{"variant":"hybrid","fusion_weight":1.5}"#, "knob 'fusion_weight' is 1.5, expected a number in 0.0...1.0"),
                (#"{"variant":"bm25","chunk_size":512}"#, "knob 'chunk_size' is not declared (declared: variant, k, rerank, fusion_weight, template)"),
            ] {
                let body = #"{"configuration":\#(configuration),"batch":{"size":10,"split":"test","seed":1}}"#
                let bad = try await Loopback.request(base.appendingPathComponent("tuner/evaluate"), method: "POST", body: Data(body.utf8))
                #expect(bad.status == 422 && String(decoding: bad.body, as: UTF8.self).contains(message), "\(String(decoding: bad.body, as: UTF8.self))")
            }
            // A knob left out takes its default, and the answer names the configuration as applied.
            let partial = try JSONDecoder().decode(EvaluatorProtocol.Request.self, from: Data(#"{"configuration":{"variant":"bm25","k":5},"batch":{"size":10,"split":"test","seed":1}}"#.utf8))
            let applied = try await RemoteEvaluator(baseURL: base).evaluate(partial).configuration
            #expect(applied == RAGSettings(variant: .bm25, k: 5).configuration)
            // A number that is no integer names its field (Foundation's decoder said "not valid JSON").
            for (body, message) in [
                (#"{"configuration":{"variant":"bm25","k":5,"rerank":false,"fusion_weight":0.5,"template":"ranked"},"batch":{"size":10.5,"split":"test","seed":1}}"#,
                 "field 'batch.size': 10.5 is not a whole number"),
                (#"{"configuration":{"variant":"bm25","k":5,"rerank":false,"fusion_weight":0.5,"template":"ranked"},"batch":{"size":10,"split":"test","seed":-1}}"#,
                 "field 'batch.seed': -1 is not a whole number ≥ 0"),
                (#"{"configuration":{"variant":"bm25","k":5"#, "body is not valid JSON"),
            ] {
                let bad = try await Loopback.request(base.appendingPathComponent("tuner/evaluate"), method: "POST", body: Data(body.utf8))
                #expect(bad.status == 400 && String(decoding: bad.body, as: UTF8.self).contains(message), "\(String(decoding: bad.body, as: UTF8.self))")
            }
            let metrics = String(decoding: try await Loopback.request(base.appendingPathComponent("metrics")).body, as: UTF8.self)
            #expect(metrics.contains(#"tuner_http_requests_total{endpoint="/tuner/evaluate",status="200",arm="none"} 4"#))
            #expect(metrics.contains(#"tuner_http_requests_total{endpoint="/tuner/evaluate",status="400",arm="none"} 6"#))
            #expect(metrics.contains(#"tuner_http_requests_total{endpoint="/tuner/evaluate",status="422",arm="none"} 6"#))
            #expect(metrics.contains("tuner_evaluated_batches_total"))
        }
    }

    /// `/query` answers with the policy's settings, or the header's; a bad header is a 400.
    @Test func queryUsesThePolicyOrTheOverrideHeader() async throws {
        let policy = try DecisionBenchmark.defaultPolicy(seed: 3)
        let server = TunerServer(evaluator: Loopback.evaluator, policy: PolicyHandle(policy))
        let question = try JSONEncoder().encode(TunerServer.Query(question: "How long is the warranty of the Nimbus X690?", category: "warranty"))
        try await Loopback.withServer({ server.application(port: 0, onRunning: $0) }) { base in
            let url = base.appendingPathComponent("query")
            let chosen = try JSONDecoder().decode(TunerServer.Answer.self, from: try await Loopback.request(url, method: "POST", body: question).body)
            #expect(chosen.source == "policy" && chosen.policyVersion == policy.version && chosen.passages.count == chosen.configuration.k)
            let header = String(decoding: try JSONEncoder().encode(settings), as: UTF8.self)
            let reply = try await Loopback.request(url, method: "POST", body: question, headers: ["X-RAG-Configuration": header, "X-Request-ID": "r-1"])
            let overridden = try JSONDecoder().decode(TunerServer.Answer.self, from: reply.body)
            #expect(overridden.source == "override" && overridden.configuration == settings && overridden.requestID == "r-1")
            #expect(overridden.passages.count == 5 && overridden.passages.first?.hasPrefix("p03-") == true && !overridden.answer.isEmpty)
            let bad = try await Loopback.request(url, method: "POST", body: question, headers: ["X-RAG-Configuration": #"{"variant": "bm25"}"#])
            #expect(bad.status == 400 && String(decoding: bad.body, as: UTF8.self).contains("X-RAG-Configuration"))
        }
    }

    /// After repeated failures the breaker stops calling the peer, lets one trial through after
    /// the cool-down, and closes again when the peer recovers.
    @Test func theCircuitBreakerStopsCallingAFailingEvaluator() async throws {
        let hits = Atomic(0)
        let healthy = Atomic(false)
        let local = try Loopback.evaluator.evaluate(.init(configuration: configuration, batch: .init(size: 20, seed: 2))).response
        let router = Router()
        router.post("/tuner/evaluate") { _, _ -> Response in
            hits.add(1, ordering: .relaxed)
            guard healthy.load(ordering: .relaxed) else { return Response(status: .serviceUnavailable) }
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(data: try JSONEncoder().encode(local))))
        }
        let clock = Atomic(0)
        let breaker = CircuitBreaker(peer: "evaluator", failureThreshold: 2, cooldown: 30) { Double(clock.load(ordering: .relaxed)) }
        try await Loopback.withServer({ run in Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), onServerRunning: { await run($0.localAddress!.port!) }) }) { base in
            let client = RemoteEvaluator(baseURL: base, timeout: 5, maxAttempts: 2, breaker: breaker)
            let request = EvaluatorProtocol.Request(configuration: configuration, batch: .init(size: 20, seed: 2))
            for _ in 0..<2 { await #expect(throws: JSONPost.Failure.self) { try await client.evaluate(request) } }
            #expect(hits.load(ordering: .relaxed) == 4 && breaker.state == .open)  // 2 calls × 2 attempts
            await #expect(throws: CircuitBreaker.Open.self) { try await client.evaluate(request) }
            #expect(hits.load(ordering: .relaxed) == 4)
            clock.store(31, ordering: .relaxed)
            healthy.store(true, ordering: .relaxed)
            let recovered = try await client.evaluate(request)
            #expect(recovered == local)
            #expect(breaker.state == .closed && hits.load(ordering: .relaxed) == 5)
        }
    }

    @Test func theRateLimiterSpacesCalls() {
        let clock = Mutex(0.0)
        let limiter = RateLimiter(ratePerSecond: 10, burst: 2) { clock.withLock { $0 } }
        #expect(limiter.reserve() == 0 && limiter.reserve() == 0)
        #expect(abs(limiter.reserve() - 0.1) < 1e-9)
        clock.withLock { $0 = 0.05 }
        #expect(abs(limiter.reserve() - 0.05) < 1e-9)
        clock.withLock { $0 = 0.1 }
        #expect(limiter.reserve() == 0)
        clock.withLock { $0 = 10 }
        #expect(limiter.reserve() == 0 && limiter.reserve() == 0 && limiter.reserve() > 0)
    }

    /// A steady load on both endpoints: every request answered.
    @Test func theServerAnswersASteadyLoadWithoutErrors() async throws {
        let server = TunerServer(evaluator: Loopback.evaluator, policy: PolicyHandle(try DecisionBenchmark.defaultPolicy()))
        let questions = Loopback.evaluator.setup.dataset.queries.prefix(50).map { LoadGenerator.Question(question: $0.text, category: $0.category) }
        try await Loopback.withServer({ server.application(port: 0, onRunning: $0) }) { base in
            // Generous timeouts: under the full parallel test run the two cores are shared with
            // CPU-bound tests that can hold the cooperative threads for seconds.
            let report = await LoadGenerator(target: base, workload: .questions(Array(questions)), requestsPerSecond: 40, duration: 3, timeout: 120).run()
            print("loadgen /query: \(report)")
            #expect(report.sent == 120 && report.succeeded == 120 && report.failed == 0 && report.skipped == 0)
            let evaluations = await LoadGenerator(
                target: base, workload: .evaluations(configuration: settings, batchSize: 90, split: "train"),
                requestsPerSecond: 20, duration: 2, timeout: 120).run()
            print("loadgen /tuner/evaluate: \(evaluations)")
            #expect(evaluations.sent == 40 && evaluations.succeeded == 40 && evaluations.failed == 0)
        }
    }
}
