import Foundation
import Pipeline
import Retrieval
import Scoring
import Testing
import TunerPolicy

@Suite(.serialized) struct EvaluationCacheTests {
    /// Every variant, re-rank setting, template and a spread of k and w: the cache must reproduce
    /// the from-scratch pipeline exactly, query by query (the pipeline's measured stage times
    /// replaced by the cache's, the only quantity each path measures for itself).
    @Test(arguments: ["scifact", "squad-dev"])
    func cacheReproducesThePipelineExactly(dataset: String) async throws {
        let (setup, system) = try SharedSystems.system(dataset)
        let queries = Array(try setup.queries(split: "test").prefix(40))
        var configurations: [RAGSettings] = []
        for variant in RAGSettings.Variant.allCases {
            for template in RAGSettings.Template.allCases {
                for (k, w, rerank) in [(3, 0.25, false), (10, 0.5, true), (32, 0.75, false), (24, 1.0, true)] {
                    configurations.append(RAGSettings(variant: variant, k: k, rerank: rerank, fusionWeight: w, template: template))
                }
            }
        }
        let outcomes = try await Self.compare(system: system, queries: queries, configurations)
        #expect(outcomes.count == 64 * 40)
    }

    /// In a union of a dataset without gold answers (Cranfield) and one with (SQuAD), each
    /// question's faithfulness counts answer recall only where it has gold answers, as the judge
    /// does: a Cranfield question's is its source's support alone, not halved by a recall of 0;
    /// and a summary's answer F1 is the mean over the SQuAD questions.
    @Test func aUnionJudgesEachQuestionByItsOwnAnswers() async throws {
        let parts = try ["cranfield", "squad-dev"].map { try SharedSystems.system($0).0 }
        let setup = EvaluationSetup.union(parts)
        let system = try RetrievalSystem(dataset: setup.dataset, costModel: setup.costModel)
        let test = try setup.queries(split: "test")
        let queries = ["cranfield", "squad-dev"].flatMap { name in test.filter { setup.dataset.queries[$0].category == name }.prefix(20) }
        let configurations = [RAGSettings(variant: .hybrid, k: 5, rerank: true, fusionWeight: 0.5, template: .truncated),
                              RAGSettings(variant: .bm25, k: 8, rerank: false, template: .ranked)]
        let outcomes = try await Self.compare(system: system, queries: queries, configurations)
        #expect(outcomes.count == 2 * 40)
        for (i, outcome) in outcomes.enumerated() {
            let hasAnswers = setup.dataset.queries[queries[i % 40]].category == "squad-dev"
            #expect((outcome.answerF1 != nil) == hasAnswers, "query \(queries[i % 40])")
        }
        // A summary's answer F1 is over the questions that have gold answers.
        let first = Array(outcomes.prefix(40))
        let answered = first.compactMap(\.answerF1)
        #expect(answered.count == 20 && MetricsSummary(first, reward: setup.reward).answerF1 == answered.reduce(0, +) / 20)
    }

    /// The cache's outcome of every query under every configuration against the from-scratch
    /// pipeline's, judged by the gold judge (its stage times replaced by the cache's, the only
    /// quantity each path measures for itself); returns the cache's, configuration-major.
    static func compare(system: RetrievalSystem, queries: [Int], _ configurations: [RAGSettings]) async throws -> [QueryOutcome] {
        let cache = EvaluationCache(system: system, queries: queries)
        let pipeline = RAGPipeline(system: system)
        let workspace = cache.makeWorkspace()
        var outcomes: [QueryOutcome] = []
        for c in configurations {
            for (i, q) in queries.enumerated() {
                let cached = try cache.outcome(at: i, configuration: c, workspace: workspace)
                let run = try pipeline.run(query: q, configuration: c)
                let scores = try await GoldJudge().score([run.judgeRequest])[0]
                let fresh = pipeline.outcome(run, scores: scores, stages: cache.stageTimes(at: i, passages: run.response.context.count))
                #expect(cached == fresh, "\(c) query \(q)")
                outcomes.append(cached)
            }
        }
        return outcomes
    }

    /// Through the judge interface and the batch report, the two paths agree as well.
    @Test func batchReportsAgreeThroughTheJudgeInterface() async throws {
        let (setup, system) = try SharedSystems.system("scifact")
        let queries = Array(try setup.queries(split: "test").prefix(60))
        let c = RAGSettings(variant: .hybrid, k: 8, rerank: true, fusionWeight: 0.5, template: .sandwich)
        let cached = try EvaluationCache(system: system, queries: queries).evaluate(c, reward: setup.reward)
        let fresh = try await PipelineEvaluator(pipeline: RAGPipeline(system: system), judge: GoldJudge())
            .evaluate(queries, configuration: c, reward: setup.reward)
        #expect(cached.overall.n == 60 && fresh.overall.n == 60)
        #expect(cached.overall.ndcgAt10 == fresh.overall.ndcgAt10)
        #expect(cached.overall.faithfulness == fresh.overall.faithfulness)
        #expect(cached.overall.relevancy == fresh.overall.relevancy)
        #expect(cached.overall.costUSD == fresh.overall.costUSD)
        #expect(Set(cached.perCategory.keys) == ["short", "medium", "long"])
    }

    /// The JSON contract of `tuner evaluate`: these keys, overall and under `per_category`.
    @Test func reportJSONCarriesTheDocumentedKeys() throws {
        let (setup, system) = try SharedSystems.system("scifact")
        let cache = EvaluationCache(system: system, queries: Array(try setup.queries(split: "test").prefix(30)))
        let report = try cache.evaluate(RAGSettings(variant: .bm25, k: 5), reward: setup.reward)
        let object = ReportJSON.configurationObject(report)
        let required: Set<String> = [
            "ndcg_at_10", "recall_at_10", "faithfulness", "relevancy", "latency_p50_ms", "latency_p95_ms", "cost_usd", "reward",
            "gates_passed", "n",
        ]
        #expect(required.isSubset(of: Set(object.keys)))
        #expect((object["config"] as? [String: Any])?["variant"] as? String == "bm25")
        let perCategory = try #require(object["per_category"] as? [String: [String: Any]])
        #expect(Set(perCategory.keys) == Set(report.perCategory.keys) && !perCategory.isEmpty)
        for summary in perCategory.values { #expect(required.isSubset(of: Set(summary.keys))) }
        #expect(object["n"] as? Int == 30 && object["ndcg_at_10"] as? Double == report.overall.ndcgAt10)
        #expect(JSONSerialization.isValidJSONObject(object))
    }

    /// The knobs move latency and cost the way they do in production.
    @Test func kRerankAndTemplateMoveLatencyAndCost() throws {
        let (setup, system) = try SharedSystems.system("scifact")
        let cache = EvaluationCache(system: system, queries: Array(try setup.queries(split: "test").prefix(50)))
        func report(_ c: RAGSettings) throws -> MetricsSummary { try cache.evaluate(c, reward: setup.reward).overall }
        let small = try report(RAGSettings(variant: .bm25, k: 3, template: .ranked))
        let large = try report(RAGSettings(variant: .bm25, k: 24, template: .ranked))
        let truncated = try report(RAGSettings(variant: .bm25, k: 24, template: .truncated))
        let budgeted = try report(RAGSettings(variant: .bm25, k: 24, template: .budgeted))
        let reranked = try report(RAGSettings(variant: .bm25, k: 3, rerank: true, template: .ranked))
        #expect(large.costUSD > 4 * small.costUSD && large.latencyP95Milliseconds > small.latencyP95Milliseconds + 300)
        #expect(truncated.costUSD < large.costUSD / 2 && budgeted.costUSD < large.costUSD / 2)
        #expect(reranked.latencyP50Milliseconds > small.latencyP50Milliseconds + 30, "re-ranking 30 candidates costs ~36 ms")
        #expect(large.relevancy > small.relevancy)
    }

    /// A cache measures stage times afresh, so two caches of the same questions charge different
    /// latencies; handed the first one's times (through a file), a second charges exactly those,
    /// question by question, and scores every configuration identically.
    @Test func keptStageTimesAreChargedAgainExactly() throws {
        let (setup, system) = try SharedSystems.system("scifact")
        let queries = Array(try setup.queries(split: "test").prefix(60))
        let original = EvaluationCache(system: system, queries: queries)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("stage-times-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try original.timings.write(to: file)
        let kept = try StageTimings.read(from: file)
        #expect(kept == original.timings && kept.questions.count == 60)

        let repeated = EvaluationCache(system: system, queries: queries, timings: kept)
        let remeasured = EvaluationCache(system: system, queries: queries)
        #expect((0..<60).allSatisfy { repeated.stageTimes(at: $0, passages: 5) == original.stageTimes(at: $0, passages: 5) })
        #expect((0..<60).contains { remeasured.stageTimes(at: $0, passages: 5) != original.stageTimes(at: $0, passages: 5) },
                "measuring again should not give the same times to the nanosecond")
        for configuration in [RAGSettings(variant: .hybrid, k: 8, rerank: true, fusionWeight: 0.5, template: .ranked),
                              RAGSettings(variant: .bm25, k: 24, template: .budgeted)] {
            let a = try original.evaluate(configuration, reward: setup.reward).overall
            let b = try repeated.evaluate(configuration, reward: setup.reward).overall
            #expect(a == b)
        }
    }

    @Test(arguments: [
        (#"{"version": 1, "questions": {"q7": {"lexical": 0.1, "dense": -2, "fusion": 0.1, "rerank": 0, "answer_per_passage": 0.01}}}"#,
         "question 'q7': dense is -2.0, expected a finite number of milliseconds ≥ 0"),
        (#"{"version": 2, "questions": {}}"#, "stage-times version 2, this build reads 1"),
        (#"{"questions": []}"#, "not a stage-times file"),
    ])
    func badStageTimesFilesAreRefusedWithTheReason(text: String, reason: String) throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("stage-times-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(text.utf8).write(to: file)
        let error = #expect(throws: StageTimings.ReadError.self) { try StageTimings.read(from: file) }
        #expect(error.map { "\($0)".hasPrefix(file.path + ": " + reason) } == true, "\(String(describing: error))")
    }
}
