import Evaluators
import Foundation
import Hummingbird
import NumericCore
import Pipeline
import PPO
import Statistics
import Testing
import Tracking
import TunerPolicy
import TunerServer
import Tuning

/// The per-question evaluator protocol on 127.0.0.1: the description, named questions, the
/// result store that never pays twice, the budget and the per-question verdict. Members of the
/// serialized server suite: their bursts of evaluator calls must not overlap the load test.
extension TunerServerTests {
    static func evaluatedQueries(_ base: URL) async throws -> Int {
        let metrics = String(decoding: try await Loopback.request(base.appendingPathComponent("metrics")).body, as: UTF8.self)
        let line = metrics.split(separator: "\n").first { $0.hasPrefix("tuner_evaluated_queries_total ") }
        return line.map { Int(Double($0.split(separator: " ")[1])!) } ?? 0
    }

    /// The description lists every judged question by split and category with the dataset's
    /// gates; named questions are answered in their order, one record each, and the records are
    /// the local evaluation of those questions; bad names are refused naming them.
    @Test func theEvaluatorDescribesItselfAndAnswersNamedQuestions() async throws {
        let server = TunerServer(evaluator: Loopback.evaluator, policy: nil)
        try await Loopback.withServer({ server.application(port: 0, onRunning: $0) }) { base in
            let description = try #require(try await RemoteEvaluator(baseURL: base).describe())
            let setup = Loopback.evaluator.setup
            #expect(description.dataset == setup.dataset.manifest.id && description.gates == setup.gates)
            let test = try #require(description.splits["test"])
            #expect(test.keys.sorted() == ["error_code", "overview", "warranty"])
            let testQueries = try setup.queries(split: "test")
            #expect(test.values.reduce(0) { $0 + $1.count } == testQueries.count)
            for (category, ids) in test {
                #expect(ids.allSatisfy { id in setup.dataset.queries.first { $0.id == id }?.category == category })
            }

            let ids = Array(test["warranty"]!.prefix(7).reversed()) + Array(test["overview"]!.prefix(5))
            let request = EvaluatorProtocol.Request(configuration: configuration, questions: .init(split: "test", ids: ids))
            let response = try await RemoteEvaluator(baseURL: base).evaluate(request)
            let records = try #require(response.queries)
            #expect(records.map(\.id) == ids && response.overall.n == 12)
            #expect(abs(records.map(\.faithfulness).reduce(0, +) / 12 - response.overall.faithfulness) < 1e-12)
            #expect(records.prefix(7).allSatisfy { $0.category == "warranty" } && response.perCategory["overview"]?.n == 5)
            #expect(response == (try Loopback.evaluator.evaluate(request).response))
            // A record is what the same question scores in a seeded batch that draws it.
            let batch = try Loopback.evaluator.evaluate(.init(configuration: configuration, batch: .init(size: 300, split: "test", seed: 5)))
            let same = try #require(batch.response.queries?.first { $0.id == ids[0] })
            #expect(same == records[0])

            for (body, message) in [
                (#"{"configuration": {"variant": "bm25", "k": 5, "rerank": false, "fusion_weight": 0.5, "template": "ranked"}, "questions": {"split": "test", "ids": ["nope"]}}"#, "'nope' is not a question of split 'test'"),
                (#"{"configuration": {"variant": "bm25", "k": 5, "rerank": false, "fusion_weight": 0.5, "template": "ranked"}, "questions": {"split": "test", "ids": ["\#(ids[0])", "\#(ids[0])"]}}"#, "is named twice"),
                (#"{"configuration": {"variant": "bm25", "k": 5, "rerank": false, "fusion_weight": 0.5, "template": "ranked"}}"#, "send exactly one"),
            ] {
                let bad = try await Loopback.request(base.appendingPathComponent("tuner/evaluate"), method: "POST", body: Data(body.utf8))
                #expect(bad.status == 400 && String(decoding: bad.body, as: UTF8.self).contains(message), "\(String(decoding: bad.body, as: UTF8.self))")
            }
        }
    }

    /// A result paid for once is never asked for again: not by the same source, not by a new run
    /// on the same store file, not as part of a larger request; only the new questions are paid.
    @Test func theResultStoreNeverPaysTwice() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("results-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let server = TunerServer(evaluator: Loopback.evaluator, policy: nil)
        try await Loopback.withServer({ server.application(port: 0, onRunning: $0) }) { base in
            let remote = RemoteEvaluator(baseURL: base, requestsPerSecond: 10_000)
            let description = try #require(try await remote.describe())
            let train = description.splits["train"]!
            let ids = Array(train["warranty"]!.prefix(10))
            func source() throws -> RemoteQuerySource {
                try RemoteQuerySource(evaluators: [remote], description: description, corpusDocuments: 480, ledger: EvaluationLedger(),
                                      store: try QueryResultStore(folder: folder))
            }
            let configuration = self.configuration
            let first = try source()
            let paid = try await runOnOwnThread { try first.results(configuration, split: "train", ids: ids) }
            #expect(first.ledger.spending.tuningQueries == 10 && first.ledger.spending.requests == 1)
            #expect(try await Self.evaluatedQueries(base) == 10)
            let again = try await runOnOwnThread { try first.results(configuration, split: "train", ids: Array(ids.reversed())) }
            #expect(again == Array(paid.reversed()) && first.ledger.spending.requests == 1)

            // Another run, on the same store file: the same results for nothing; five more paid.
            let second = try source()
            let more = Array(train["warranty"]!.prefix(15))
            let larger = try await runOnOwnThread { try second.results(configuration, split: "train", ids: more) }
            #expect(Array(larger.prefix(10)) == paid)
            #expect(second.ledger.spending.tuningQueries == 5 && second.ledger.spending.reused == 10)
            #expect(try await Self.evaluatedQueries(base) == 15)
            #expect(try QueryResultStore(folder: folder).count(evaluator: second.evaluatorKey) == 15)
            // A fusion weight rounding to the same step is the same configuration.
            var shifted = settings
            shifted.fusionWeight += 0.01
            let nearby = shifted.configuration
            _ = try await runOnOwnThread { try second.results(nearby, split: "train", ids: ids) }
            #expect(try await Self.evaluatedQueries(base) == 15)
        }
    }

    /// Tuning stops at its budget and never passes it; the verdict is on every held-out question,
    /// with the evaluator's own gates, and its whole-split reward is the local evaluation's.
    @Test func theBudgetStopsTuningAndTheVerdictIsOnEveryHeldOutQuestion() async throws {
        let server = TunerServer(evaluator: Loopback.evaluator, policy: nil)
        try await Loopback.withServer({ server.application(port: 0, onRunning: $0) }) { base in
            let remote = RemoteEvaluator(baseURL: base, requestsPerSecond: 10_000)
            let description = try #require(try await remote.describe())
            let ledger = EvaluationLedger(budget: .init(queries: 900))
            let source = try RemoteQuerySource(evaluators: [remote], description: description, poolSize: 20, corpusDocuments: 480, ledger: ledger, store: nil)
            #expect(source.pools.map(\.count) == [20, 20, 20])
            var options = RAGTuningEnvironment.Options()
            options.batchSize = 10
            let tuning = RemoteTuning(source: .perQuery(source), policy: Loopback.evaluator.setup.policy, options: options)
            let (verdict, stopped) = try await runOnOwnThread { () -> (RemoteTuning.Verdict, (any Error)?) in
                var ppo = PPOConfiguration.ragTuning
                ppo.totalSteps = 40_960
                let trainer = try tuning.trainer(ppo)
                var stopped: (any Error)?
                do { try trainer.train() } catch { stopped = source.lastFailure }
                return (try tuning.verdict(policy: Policy(checkpoint: trainer.checkpoint), bootstrap: Bootstrap(resamples: 500)), stopped)
            }
            let spent = ledger.spending
            #expect(stopped is EvaluationLedger.Exhausted, "\(String(describing: stopped))")
            #expect(spent.tuningQueries <= 900 && spent.tuningQueries > 800, "\(spent)")
            #expect(spent.reused > spent.tuningQueries, "batches of a fixed pool reuse what was paid")

            let test = description.splits["test"]!
            #expect(verdict.pairing == .queries && verdict.pairs == test.values.reduce(0) { $0 + $1.count })
            #expect(spent.verdictQueries <= 2 * verdict.pairs && spent.verdictQueries > 0)
            // The verdict's whole-split reward, recomputed from local evaluations of the same questions.
            let names = test.keys.sorted()
            var outcomes: [QueryOutcome] = [], categories: [Int] = []
            for (c, name) in names.enumerated() {
                let response = try Loopback.evaluator.evaluate(.init(configuration: verdict.configurations[name]!, questions: .init(split: "test", ids: test[name]!))).response
                outcomes += response.queries!.map {
                    QueryOutcome(query: 0, faithfulness: $0.faithfulness, relevancy: $0.relevancy, latencyMilliseconds: $0.latencyMilliseconds,
                                 costUSD: $0.costUSD, failed: $0.error, violation: $0.violation ?? false)
                }
                categories += Array(repeating: c, count: test[name]!.count)
            }
            let local = BatchReport(configuration: RAGSettings(), outcomes: outcomes, categories: categories, categoryNames: names,
                                    reward: Loopback.evaluator.setup.reward)
            #expect(abs(local.overall.reward.reward - verdict.policyReward) < 1e-9)
            // Continuous knobs are kept on a 0.05 step of their range, so nearby proposals share results.
            let served = try verdict.configurations.values.map { try RAGSettings($0) }
            #expect(served.allSatisfy { !$0.variant.usesFusionWeight || abs(($0.fusionWeight / 0.05).rounded() * 0.05 - $0.fusionWeight) < 1e-12 })
        }
    }

    /// Requests for one batch spread over two endpoints, four at a time, under one rate limit;
    /// the answers are those of one endpoint alone.
    @Test func requestsSpreadOverSeveralEndpoints() async throws {
        let one = TunerServer(evaluator: Loopback.evaluator, policy: nil, addedMillisecondsPerQuery: 2)
        let two = TunerServer(evaluator: Loopback.evaluator, policy: nil, addedMillisecondsPerQuery: 2)
        try await Loopback.withServer({ one.application(port: 0, onRunning: $0) }) { first in
            try await Loopback.withServer({ two.application(port: 0, onRunning: $0) }) { second in
                let limiter = RateLimiter(ratePerSecond: 1_000, burst: 100)
                let endpoints = [first, second].map { RemoteEvaluator(baseURL: $0, limiter: limiter) }
                let description = try #require(try await endpoints[0].describe())
                let ids = description.splits["test"]!.values.flatMap { $0 }.sorted()
                let spread = try RemoteQuerySource(evaluators: endpoints, description: description, corpusDocuments: 480, ledger: EvaluationLedger(),
                                                   store: nil, concurrency: 4)
                let configuration = self.configuration
                let results = try await runOnOwnThread { try spread.results(configuration, split: "test", ids: ids) }
                #expect(results.map(\.id) == ids && spread.ledger.spending.requests == 4)
                let (a, b) = (try await Self.evaluatedQueries(first), try await Self.evaluatedQueries(second))
                #expect(a > 0 && b > 0 && a + b == ids.count)
                let alone = try Loopback.evaluator.evaluate(.init(configuration: configuration, questions: .init(split: "test", ids: ids))).response
                #expect(results == alone.queries)
            }
        }
    }
}

extension TunerServerTests {
    /// `tuner train --evaluator URL --budget-queries N --json` as a real process: it stops at the
    /// budget, reports what tuning and the verdict spent apart, judges every held-out question
    /// and keeps what it paid for, so a second run on the same `--out` finds it.
    @Test func aBudgetedRunReportsWhatItSpentAndKeepsIt() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: ServeProcessTests.tuner.path), "no tuner binary at \(ServeProcessTests.tuner.path)")
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("budgeted-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let server = TunerServer(evaluator: Loopback.evaluator, policy: nil)
        try await Loopback.withServer({ server.application(port: 0, onRunning: $0) }) { base in
            func train() throws -> [String: Any] {
                try TrainProcessTests.tuner([
                    "train", "--mode", "offline", "--evaluator", base.absoluteString, "--budget-queries", "300", "--pool-size", "10",
                    "--batch-size", "10", "--steps", "1024", "--corpus-documents", "480", "--seed", "2", "--strategy", "ppo", "--out", out.path, "--json",
                ])
            }
            let first = try train()
            let spent = try #require(first["query_evaluations"] as? Int)
            #expect(first["stopped_by"] as? String == "budget" && (291...300).contains(spent), "\(first)")
            let testQuestions = try Loopback.evaluator.setup.queries(split: "test").count
            let verdictSpent = try #require(first["verdict_query_evaluations"] as? Int)
            #expect(verdictSpent > 0 && verdictSpent <= 2 * testQuestions)
            #expect(try await Self.evaluatedQueries(base) == spent + verdictSpent)
            let test = try #require(first["test"] as? [String: Any])
            #expect(test["paired_over"] as? String == "queries" && test["pairs"] as? Int == testQuestions)
            #expect((first["policy_configs"] as? [String: Any])?.keys.sorted() == ["error_code", "overview", "warranty"])
            #expect(try QueryResultStore(folder: out).count() == spent + verdictSpent)

            let second = try train()
            #expect((second["reused_results"] as? Int ?? 0) >= spent, "the second run found the first one's results")
        }
    }
}

extension TunerServerTests {
    /// A description that lists a question twice, or whose gates are out of range, is refused
    /// naming the place, before anything is asked for.
    @Test func aMalformedDescriptionIsRefused() async throws {
        let good = Loopback.evaluator.description
        var twice = good
        twice.splits["train"]!["warranty"]!.append(good.splits["train"]!["overview"]![0])
        var gates = good
        gates.gates.relevancyMin = 1.5
        for (description, message) in [(twice, "is listed twice in the split"), (gates, "relevancy_min")] {
            let router = Router()
            router.get("/tuner/evaluator") { _, _ -> Response in
                Response(status: .ok, body: .init(byteBuffer: ByteBuffer(data: try JSONEncoder().encode(description))))
            }
            try await Loopback.withServer({ run in Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), onServerRunning: { await run($0.localAddress!.port!) }) }) { base in
                do {
                    _ = try await RemoteEvaluator(baseURL: base).describe()
                    Issue.record("accepted a description that should be refused (\(message))")
                } catch let RemoteEvaluator.Failure.malformed(reason) {
                    #expect(reason.contains(message), "\(reason)")
                }
            }
        }
        let plain = Router()
        try await Loopback.withServer({ run in Application(router: plain, configuration: .init(address: .hostname("127.0.0.1", port: 0)), onServerRunning: { await run($0.localAddress!.port!) }) }) { base in
            let described = try await RemoteEvaluator(baseURL: base).describe()
            #expect(described == nil, "no description: the aggregates-only path")
        }
    }
}
