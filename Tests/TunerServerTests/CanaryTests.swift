import Evaluators
import Foundation
import Scoring
import Statistics
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hummingbird
import NumericCore
import Pipeline
import Synchronization
import Testing
import TunerPolicy
import TunerServer

/// `tuner canary` against a real `tuner serve` playing production on 127.0.0.1.
@Suite struct CanaryTests {
    /// A policy that always chooses `settings`: zero output weights, and biases that make the
    /// wanted entry of every head the mode.
    static func constantPolicy(_ settings: RAGSettings, seed: UInt64) throws -> RAGPolicy {
        let layout = RAGActionLayout(Loopback.evaluator.setup.policy.actions)
        let features = ContextFeatures(categories: Loopback.evaluator.caches["train"]!.categories, latencyScaleMilliseconds: 500, costScaleUSD: 0.002)
        let network = PolicyNetwork(architecture: PolicyArchitecture(observationSize: features.count(for: layout), actionSpace: layout.actionSpace))
        var rng = RandomGenerator(seed: seed)
        try network.initialize(using: &rng)
        let head = network.actor.layers.last!
        network.arena.value(head.weight).fill(0)
        let bias = network.arena.value(head.bias)
        bias.fill(0)
        let offsets = layout.actionSpace.outputOffsets
        bias[0, offsets[0] + layout.variants.firstIndex(of: settings.variant)!] = 10
        switch layout.kDistribution {
        case .softmax:
            bias[0, offsets[1] + settings.k - layout.kRange.lowerBound] = 10
        case .logNormal:
            // The mean of log k at log(settings.k), and the narrowest width.
            let low = log(Float(layout.kRange.lowerBound)), high = log(Float(layout.kRange.upperBound))
            bias[0, offsets[1]] = (log(Float(settings.k)) - (low + high) / 2) / ((high - low) / 2)
            network.logStd![0] = network.architecture.logStdLower
        }
        bias[0, offsets[2]] = settings.rerank ? 10 : -10
        bias[0, offsets[3]] = Float(settings.fusionWeight)
        bias[0, offsets[4] + layout.templates.firstIndex(of: settings.template)!] = 10
        let checkpoint = PolicyCheckpoint(network: network, normalizer: RunningNormalizer(size: network.architecture.observationSize), features: features)
        let policy = try RAGPolicy(bytes: checkpoint.archive().encoded())
        let chosen = policy.decide(PolicyContext(category: features.categories[0], faithfulness: 0.8, relevancy: 0.8, latencyP50Milliseconds: 200,
                                                 latencyP95Milliseconds: 300, costUSD: 0.001, corpusDocuments: 480)).settings
        precondition([chosen.variant == settings.variant, chosen.k == settings.k, chosen.rerank == settings.rerank, chosen.template == settings.template]
                        .allSatisfy { $0 }, "the constant policy chose \(chosen), not \(settings)")
        return policy
    }

    static let weak = RAGSettings(variant: .hybrid, k: 10, rerank: false, fusionWeight: 0.5, template: .ranked)
    static let strong = RAGSettings(variant: .bm25, k: 8, rerank: true, fusionWeight: 0.5, template: .ranked)

    /// Sends judged dataset questions through the proxy, each as a new user; returns the arms.
    static func drive(_ proxy: URL, requests: Range<Int>) async throws -> [String] {
        let dataset = Loopback.evaluator.setup.dataset
        let questions = try Loopback.evaluator.setup.queries(split: "train")
        var arms: [String] = []
        for i in requests {
            let query = dataset.queries[questions[i % questions.count]]
            let reply = try await Loopback.request(
                proxy.appendingPathComponent("query"), method: "POST",
                body: try JSONEncoder().encode(TunerServer.Query(question: query.text, category: query.category)),
                headers: ["X-User-ID": "user-\(i)"])
            arms.append(reply.headers["x-canary-arm"] ?? "?")
        }
        return arms
    }

    @Test func aBetterCandidateIsPromotedThroughEveryStep() async throws {
        let baseline = PolicyHandle(try Self.constantPolicy(Self.weak, seed: 1)), candidate = PolicyHandle(try Self.constantPolicy(Self.strong, seed: 2))
        let split = try TrafficSplit(percentage: 0)
        var options = CanaryController.Options()
        options.steps = [20, 50, 100]
        options.windowRequests = 40
        options.rule.minimumPerArm = 5
        options.cleanWindowsToPromote = 1
        let controller = try CanaryController(split: split, reward: Loopback.evaluator.setup.reward, options: options)
        let production = TunerServer(evaluator: Loopback.evaluator, policy: nil)
        try await Loopback.withServer({ production.application(port: 0, onRunning: $0) }) { productionURL in
            let proxy = CanaryProxy(production: productionURL, baseline: .network(baseline), candidate: .network(candidate), controller: controller, corpusDocuments: 480, timeout: 120)
            try await Loopback.withServer({ proxy.application(port: 0, onRunning: $0) }) { proxyURL in
                var sent = 0
                while !controller.isComplete && sent < 2000 {
                    _ = try await Self.drive(proxyURL, requests: sent ..< sent + 40)
                    sent += 40
                }
                let promotions = controller.evaluations.compactMap { e -> Double? in if case let .promote(to) = e.action { to } else { nil } }
                #expect(promotions == [50, 100], "\(controller.evaluations.map(\.action))")
                #expect(controller.isComplete && !controller.isFrozen && split.percentage == 100)
                #expect(try await Self.drive(proxyURL, requests: 0..<20).allSatisfy { $0 == "candidate" })
            }
        }
    }

    @Test(arguments: ["errors", "latency"])
    func aFaultyCandidateIsRolledBackWithinOneWindow(fault: String) async throws {
        let baseline = PolicyHandle(try Self.constantPolicy(Self.strong, seed: 1)), candidate = PolicyHandle(try Self.constantPolicy(Self.strong, seed: 2))
        let split = try TrafficSplit(percentage: 0)
        var options = CanaryController.Options()
        options.steps = [25, 100]
        options.windowRequests = 40
        options.rule.minimumPerArm = 5
        let controller = try CanaryController(split: split, reward: Loopback.evaluator.setup.reward, options: options)
        let production = TunerServer(evaluator: Loopback.evaluator, policy: nil)
        let incidents = FileManager.default.temporaryDirectory.appendingPathComponent("incidents-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: incidents) }
        try await Loopback.withServer({ production.application(port: 0, onRunning: $0) }) { productionURL in
            // The candidate's service: production behind a fault (every answer a 500, or 700 ms late).
            let faulty = Router()
            faulty.post("/query") { request, _ -> Response in
                let body = try await request.body.collect(upTo: 1 << 20)
                if fault == "errors" { return Response(status: .internalServerError) }
                try await Task.sleep(nanoseconds: 700_000_000)
                var forward = URLRequest(url: productionURL.appendingPathComponent("query"))
                forward.httpMethod = "POST"
                forward.httpBody = Data(buffer: body)
                forward.setValue(request.headers[.init("X-RAG-Configuration")!], forHTTPHeaderField: "X-RAG-Configuration")
                let (data, _) = try await URLSession.shared.data(for: forward)
                return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(data: data)))
            }
            try await Loopback.withServer({ run in
                Application(router: faulty, configuration: .init(address: .hostname("127.0.0.1", port: 0)), onServerRunning: { await run($0.localAddress!.port!) })
            }) { faultyURL in
                let proxy = CanaryProxy(production: productionURL, candidateService: faultyURL, baseline: .network(baseline), candidate: .network(candidate),
                                        controller: controller, incidents: incidents,
                                        corpusDocuments: 480, timeout: 120)
                try await Loopback.withServer({ proxy.application(port: 0, onRunning: $0) }) { proxyURL in
                    let first = try await Self.drive(proxyURL, requests: 0..<40)
                    #expect(first.contains("candidate"))
                    // The first window closed on request 40: rolled back, frozen, every request on the baseline.
                    #expect(controller.isFrozen && split.percentage == 0)
                    guard case let .rollback(reason) = try #require(controller.evaluations.last).action else {
                        Issue.record("expected a rollback, got \(controller.evaluations.map(\.action))")
                        return
                    }
                    #expect(reason.contains(fault == "errors" ? "error-rate burn" : "latency burn"))
                    #expect(try await Self.drive(proxyURL, requests: 40..<80).allSatisfy { $0 == "baseline" })
                    let files = try FileManager.default.contentsOfDirectory(atPath: incidents.path)
                    #expect(files.count == 1)
                    let incident = try JSONSerialization.jsonObject(with: Data(contentsOf: incidents.appendingPathComponent(files[0]))) as! [String: Any]
                    #expect((incident["what"] as? String) == reason && (incident["decision"] as? String)?.contains("frozen") == true)
                    #expect(incident["evaluation"] != nil && incident["time"] != nil)
                }
            }
        }
    }

    @Test func lowTrafficHoldsAndAMismatchedSplitDoesNotPromote() throws {
        let split = try TrafficSplit(percentage: 0)
        var options = CanaryController.Options()
        options.steps = [50, 100]
        options.windowRequests = 100
        options.rule.minimumPerArm = 5
        options.cleanWindowsToPromote = 1
        let controller = try CanaryController(split: split, reward: Loopback.evaluator.setup.reward, options: options)
        let good = ShadowComparison.Observation(faithfulness: 0.95, relevancy: 0.95, latencyMilliseconds: 200, costUSD: 0.0002)
        let poor = ShadowComparison.Observation(faithfulness: 0.7, relevancy: 0.7, latencyMilliseconds: 200, costUSD: 0.0002)
        // Unjudged answers: missing data holds.
        var last: CanaryController.Evaluation?
        for i in 0..<100 { last = controller.record(arm: i % 2 == 0 ? .candidate : .baseline, observation: nil) }
        guard case let .hold(reason) = try #require(last).action else { Issue.record("expected a hold"); return }
        #expect(reason.contains("low traffic"))
        // 85 to 15: far from the intended 50/50 (χ² = 49), so no promotion however good the candidate looks.
        for i in 0..<100 { last = controller.record(arm: i < 85 ? .candidate : .baseline, observation: i < 85 ? good : poor) }
        #expect(controller.step == 50)
        guard case let .hold(mismatch) = try #require(last).action else { Issue.record("expected a hold, got \(last!)"); return }
        #expect(mismatch.contains("sample-ratio mismatch"))
    }

    /// The rule both canaries judge by: a gate the baseline breaches too is not the candidate's
    /// fault; a candidate shown behind by the sequential test is rolled back even with no gate
    /// breached; one that is no worse is clean, and one clearly better is clean and ahead.
    @Test func theCanaryRuleJudgesAgainstTheBaseline() {
        let reward = Loopback.evaluator.setup.reward
        var options = CanaryRule.Options()
        options.minimumPerArm = 5
        options.regressionTolerance = 0.01
        let rule = CanaryRule(reward: reward, options: options)
        func requests(_ n: Int, quality: Double, latency: Double = 200) -> [CanaryRule.Request] {
            (0..<n).map { i in
                let q = quality + Double(i % 5) * 0.01
                let o = ShadowComparison.Observation(faithfulness: q, relevancy: q, latencyMilliseconds: latency, costUSD: 0.0002)
                return CanaryRule.Request(category: "all", failed: false, latencyMilliseconds: latency, faithfulness: q, relevancy: q, reward: o.reward(reward.weights))
            }
        }
        func judge(_ candidate: [CanaryRule.Request], _ baseline: [CanaryRule.Request]) -> CanaryRule.Judgement {
            var sequential = MixtureSPRT(alpha: options.alpha)
            return rule.judge(.init(stepCandidate: candidate, stepBaseline: baseline), categories: nil, sequential: &sequential)
        }
        // Both below the relevancy gate, the candidate no worse: nothing of the candidate's to roll back.
        let shared = judge(requests(200, quality: 0.6), requests(200, quality: 0.6))
        #expect(shared.decision == .clean && shared.candidateBreaches.isEmpty)
        // The baseline passes, the candidate does not: its breach.
        let breach = judge(requests(200, quality: 0.6), requests(200, quality: 0.9))
        #expect(breach.candidateBreaches == ["faithfulness 0.620 < 0.750", "relevancy 0.620 < 0.750"])
        guard case .rollback = breach.decision else { Issue.record("expected a rollback, got \(breach.decision)"); return }
        // Within the gates but clearly worse: the sequential test rolls it back.
        let behind = judge(requests(400, quality: 0.8), requests(400, quality: 0.9))
        guard case let .rollback(reason) = behind.decision else { Issue.record("expected a rollback, got \(behind.decision)"); return }
        #expect(reason.contains("shows the candidate behind") && behind.candidateBreaches.isEmpty && !behind.ahead)
        let better = judge(requests(400, quality: 0.9), requests(400, quality: 0.8))
        #expect(better.decision == .clean && better.ahead)
        // Too few judged requests in an arm: hold.
        #expect(judge(requests(4, quality: 0.9), requests(200, quality: 0.9)).decision == .hold(reason: "low traffic: 4 judged candidate and 200 baseline requests, 5 each needed"))
    }
}
