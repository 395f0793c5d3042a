import Evaluators
import Foundation
import Hummingbird
import Pipeline
import Scoring
import Testing
import TunerPolicy
import TunerServer
import Tuning

/// `tuner shadow` against a real `tuner serve` playing production, all on 127.0.0.1.
@Suite struct ShadowTests {
    @Test func shadowComparesPairsLikeAnOfflineEvaluationAndNeverTouchesProduction() async throws {
        let evaluator = Loopback.evaluator
        let baseline = try DecisionBenchmark.defaultPolicy(seed: 1)
        let candidate = try DecisionBenchmark.defaultPolicy(seed: 2)
        let production = TunerServer(evaluator: evaluator, policy: PolicyHandle(baseline))
        let candidateService = TunerServer(evaluator: evaluator, policy: nil)
        let dataset = evaluator.setup.dataset
        let questions = try evaluator.setup.queries(split: "test").map { (text: dataset.queries[$0].text, category: dataset.queries[$0].category) }
        let comparison = ShadowComparison(reward: evaluator.setup.reward, windowSize: 20, windowsForVerdict: 3)

        try await Loopback.withServer({ production.application(port: 0, onRunning: $0) }) { productionURL in
            let (candidatePorts, candidateSink) = AsyncStream.makeStream(of: Int.self)
            let candidateApp = candidateService.application(port: 0) { candidateSink.yield($0) }
            let candidateGroup = ServiceGroupHandle(candidateApp)
            let candidateRun = Task { try await candidateGroup.run() }
            var iterator = candidatePorts.makeAsyncIterator()
            let candidatePort = try #require(await iterator.next())
            let shadow = ShadowProxy(
                production: productionURL, candidateService: URL(string: "http://127.0.0.1:\(candidatePort)")!,
                candidate: .network(PolicyHandle(candidate)), comparison: comparison, corpusDocuments: dataset.documents.count, timeout: 120)
            let worker = Task { await shadow.runCandidate() }
            defer { worker.cancel() }

            try await Loopback.withServer({ shadow.application(port: 0, onRunning: $0) }) { proxy in
                func ask(_ i: Int) async throws -> TunerServer.Answer {
                    let q = questions[i % questions.count]
                    let reply = try await Loopback.request(
                        proxy.appendingPathComponent("query"), method: "POST",
                        body: try JSONEncoder().encode(TunerServer.Query(question: q.text, category: q.category)))
                    #expect(reply.status == 200)
                    return try JSONDecoder().decode(TunerServer.Answer.self, from: reply.body)
                }
                for i in 0..<60 {
                    let answer = try await ask(i)
                    // Production's own answer: its policy chose, its judge scored.
                    #expect(answer.source == "policy" && answer.policyVersion == baseline.version && answer.judgement != nil)
                }
                for _ in 0..<600 where shadow.counters.compared < 60 { try await Task.sleep(nanoseconds: 50_000_000) }
                #expect(shadow.counters.compared == 60 && shadow.counters.dropped == 0 && shadow.counters.productionErrors == 0)
                #expect(comparison.windows.count == 3)

                // The same pairs evaluated offline: the same judge scores and costs, the same
                // latencies up to the measured compute (a few ms), the same mean difference.
                let pipeline = RAGPipeline(system: evaluator.system)
                var offline: [Double] = []
                for pair in shadow.pairs {
                    let q = try #require(dataset.queries.firstIndex { $0.text == pair.question })
                    var rewards: [Double] = []
                    for (configuration, seen) in [(pair.productionConfiguration, pair.production), (pair.candidateConfiguration, pair.candidate)] {
                        let run = try pipeline.run(query: q, configuration: try RAGSettings(configuration))
                        let scores = try await GoldJudge().score([run.judgeRequest])[0]
                        let (latency, cost) = pipeline.latencyAndCost(run.response)
                        #expect(scores.faithfulness == seen.faithfulness && scores.relevancy == seen.relevancy && cost == seen.costUSD)
                        #expect(abs(latency - seen.latencyMilliseconds) < 25)
                        rewards.append(comparison.queryReward(.init(faithfulness: scores.faithfulness, relevancy: scores.relevancy,
                                                                    latencyMilliseconds: latency, costUSD: cost)))
                    }
                    offline.append(rewards[1] - rewards[0])
                }
                let pooled = try #require(comparison.verdict.pooledDifference)
                #expect(abs(pooled.estimate - offline.reduce(0, +) / Double(offline.count)) < 0.01)

                // The candidate side dies: production's answers through the proxy do not change.
                await candidateGroup.shutdown()
                _ = await candidateRun.result
                for i in 60..<80 {
                    let answer = try await ask(i)
                    #expect(answer.source == "policy" && !answer.answer.isEmpty)
                }
                for _ in 0..<600 where shadow.counters.candidateErrors < 20 { try await Task.sleep(nanoseconds: 50_000_000) }
                #expect(shadow.counters.productionErrors == 0 && shadow.counters.forwarded == 80 && shadow.counters.candidateErrors == 20)
                #expect(shadow.counters.compared == 60)
            }
        }
    }

    /// A candidate service's answer is input: a judgement outside 0...1 is a candidate failure
    /// naming the field, never a pair in the comparison.
    @Test func aCandidateAnswerOutOfRangeIsAFailureNotAPair() async throws {
        let production = TunerServer(evaluator: Loopback.evaluator, policy: nil)
        let bogus = Router()
        bogus.post("/query") { _, _ -> Response in
            let body = #"{"answer":"a","configuration":{},"latency_ms":100,"cost_usd":0.001,"judgement":{"judge":"x","faithfulness":7,"relevancy":0.5}}"#
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        let comparison = ShadowComparison(reward: Loopback.evaluator.setup.reward, windowSize: 10)
        let dataset = Loopback.evaluator.setup.dataset
        let q = try #require(try Loopback.evaluator.setup.queries(split: "test").first)
        try await Loopback.withServer({ production.application(port: 0, onRunning: $0) }) { productionURL in
            try await Loopback.withServer({ run in
                Application(router: bogus, configuration: .init(address: .hostname("127.0.0.1", port: 0)), onServerRunning: { await run($0.localAddress!.port!) })
            }) { bogusURL in
                let shadow = ShadowProxy(production: productionURL, candidateService: bogusURL,
                                         candidate: .network(PolicyHandle(try DecisionBenchmark.defaultPolicy(seed: 2))), comparison: comparison,
                                         corpusDocuments: dataset.documents.count, timeout: 120)
                let worker = Task { await shadow.runCandidate() }
                defer { worker.cancel() }
                try await Loopback.withServer({ shadow.application(port: 0, onRunning: $0) }) { proxy in
                    let reply = try await Loopback.request(proxy.appendingPathComponent("query"), method: "POST",
                                                           body: try JSONEncoder().encode(TunerServer.Query(question: dataset.queries[q].text, category: dataset.queries[q].category)))
                    #expect(reply.status == 200)
                    for _ in 0..<600 where shadow.counters.candidateErrors < 1 { try await Task.sleep(nanoseconds: 50_000_000) }
                    let counters = shadow.counters
                    #expect(counters.candidateErrors == 1 && counters.compared == 0, "\(counters)")
                    #expect(counters.lastCandidateError?.contains("field 'judgement': faithfulness is 7.0, expected a number in 0.0...1.0") == true,
                            "\(counters.lastCandidateError ?? "")")
                }
            }
        }
    }

    @Test func aVerdictNeedsEnoughWindowsAndHeldGates() {
        var reward = Loopback.evaluator.setup.reward
        reward.gates.faithfulnessMin = 0.5
        let comparison = ShadowComparison(reward: reward, windowSize: 10, windowsForVerdict: 2)
        let good = ShadowComparison.Observation(faithfulness: 0.9, relevancy: 0.9, latencyMilliseconds: 200, costUSD: 0.0002)
        let worse = ShadowComparison.Observation(faithfulness: 0.6, relevancy: 0.6, latencyMilliseconds: 200, costUSD: 0.0002)
        for _ in 0..<10 { comparison.add(production: worse, candidate: good) }
        #expect(!comparison.verdict.go && comparison.verdict.reason.contains("1 of the 2 windows"))
        for i in 0..<10 { comparison.add(production: worse, candidate: i % 2 == 0 ? good : worse) }
        #expect(comparison.verdict.go, "\(comparison.verdict.reason)")
        let failing = ShadowComparison.Observation(faithfulness: 0.1, relevancy: 0.9, latencyMilliseconds: 200, costUSD: 0.0002)
        for _ in 0..<10 { comparison.add(production: good, candidate: failing) }
        #expect(!comparison.verdict.go && comparison.verdict.reason.contains("faithfulness"))
    }
}
