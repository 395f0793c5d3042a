import Evaluators
import Foundation
import NumericCore
import Pipeline
import PPO
import Statistics
import Testing
import TunerPolicy
import TunerServer
import Tuning

/// PPO trained against a real evaluator on 127.0.0.1 (`tuner train --evaluator URL`). A member
/// of the serialized server suite: its burst of evaluator calls must not overlap the load test.
extension TunerServerTests {
    @Test func ppoLearnsFromARemoteEvaluatorAndIsJudgedOnItsHeldOutSplit() async throws {
        let server = TunerServer(evaluator: Loopback.evaluator, policy: nil)
        try await Loopback.withServer({ server.application(port: 0, onRunning: $0) }) { base in
            let remote = RemoteEvaluator(baseURL: base, timeout: 120, requestsPerSecond: 10_000)
            let (verdict, scores) = try await runOnOwnThread { () -> (RemoteTuning.Verdict, [BatchScore]) in
                let source = try RemoteBatchSource(evaluator: remote, corpusDocuments: 480)
                #expect(source.categories == ["error_code", "overview", "warranty"])
                // A batch through the source is the local evaluation of the same request.
                let reward = Loopback.evaluator.setup.reward.forCategory("warranty")
                var rng = RandomGenerator(seed: 4)
                var copy = rng
                let remoteScore = try source.score(RAGSettings(), category: 2, size: 50, reward: reward, using: &rng)
                let local = try Loopback.evaluator.evaluate(.init(configuration: RAGSettings().configuration, batch: .init(size: 50, split: "train", seed: copy.next(), category: "warranty"))).report
                #expect(abs(remoteScore.reward - local.overall.reward.reward) < 1e-9 && remoteScore.faithfulness == local.overall.faithfulness)

                var options = RAGTuningEnvironment.Options()
                options.batchSize = 50
                let tuning = RemoteTuning(source: .batches(source), policy: Loopback.evaluator.setup.policy, options: options)
                var ppo = PPOConfiguration.ragTuning
                ppo.totalSteps = 4_096
                let trainer = try tuning.trainer(ppo)
                try trainer.train()
                var checkpoint = trainer.checkpoint
                checkpoint.features = trainer.environments[0].features
                let verdict = try tuning.verdict(policy: Policy(checkpoint: checkpoint), batches: 5, bootstrap: Bootstrap(resamples: 1_000))
                return (verdict, [remoteScore])
            }
            #expect(scores.count == 1)
            #expect(verdict.pairs == 15 && verdict.pairing == .batches && Set(verdict.configurations.keys) == ["error_code", "overview", "warranty"])
            #expect(try verdict.configurations.values.allSatisfy { (3...32).contains(try RAGSettings($0).k) })
            // The default configuration fails the warranty questions' gates; what PPO learns does not.
            #expect(verdict.gain.lower > 0, "\(verdict.gain)")
            #expect(verdict.learned["warranty"]! > verdict.defaultStatic["warranty"]!)
        }
    }

    /// A category with train questions but none held out is learned and named in the verdict,
    /// never asked for (the evaluator refuses it, and the run would fail after training); and the
    /// environments start from the one probe batch rather than asking for it again each.
    @Test func aCategoryTheHeldOutSplitLacksIsNamedAndNeverAskedFor() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("demo-without-test-overview-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let demo = Loopback.repository.appendingPathComponent("datasets/demo")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("qrels"), withIntermediateDirectories: true)
        for file in ["corpus.jsonl", "queries.jsonl", "qrels/train.tsv"] {
            try FileManager.default.copyItem(at: demo.appendingPathComponent(file), to: folder.appendingPathComponent(file))
        }
        let overview = Set(Loopback.evaluator.setup.dataset.queries.filter { $0.category == "overview" }.map(\.id))
        let test = try String(contentsOf: demo.appendingPathComponent("qrels/test.tsv"), encoding: .utf8)
            .split(separator: "\n").filter { !overview.contains(String($0.split(separator: "\t")[0])) }
        try (test.joined(separator: "\n") + "\n").write(to: folder.appendingPathComponent("qrels/test.tsv"), atomically: true, encoding: .utf8)
        let setup = try EvaluationSetup.load(datasetFolder: folder, policyFile: nil, pipelineFile: nil)
        let evaluator = try LocalEvaluator(setup: setup, system: RetrievalSystem(dataset: setup.dataset, costModel: setup.costModel))
        let server = TunerServer(evaluator: evaluator, policy: nil)
        try await Loopback.withServer({ server.application(port: 0, onRunning: $0) }) { base in
            func evaluateRequests() async throws -> String {
                let metrics = String(decoding: try await Loopback.request(base.appendingPathComponent("metrics")).body, as: UTF8.self)
                return metrics.split(separator: "\n").filter { $0.hasPrefix(#"tuner_http_requests_total{endpoint="/tuner/evaluate""#) }.joined(separator: "; ")
            }
            let remote = RemoteEvaluator(baseURL: base, timeout: 120, requestsPerSecond: 10_000)
            var batches20 = RAGTuningEnvironment.Options()
            batches20.batchSize = 20
            let options = batches20
            let tuning = try await runOnOwnThread { () -> RemoteTuning in
                let source = try RemoteBatchSource(evaluator: remote, corpusDocuments: 480)
                let tuning = RemoteTuning(source: .batches(source), policy: setup.policy, options: options)
                for i in 0..<10 { _ = tuning.environments(seed: 1)(i) }
                return tuning
            }
            #expect(tuning.categories == ["error_code", "overview", "warranty"])
            #expect(try await evaluateRequests() == #"tuner_http_requests_total{endpoint="/tuner/evaluate",status="200",arm="none"} 1"#)
            let verdict = try await runOnOwnThread { () -> RemoteTuning.Verdict in
                var ppo = PPOConfiguration.ragTuning
                ppo.totalSteps = 1_024
                let trainer = try tuning.trainer(ppo)
                try trainer.train()
                return try tuning.verdict(policy: Policy(checkpoint: trainer.checkpoint), batches: 3, bootstrap: Bootstrap(resamples: 200))
            }
            #expect(verdict.unjudgedCategories == ["overview"])
            #expect(Set(verdict.configurations.keys) == ["error_code", "warranty"] && verdict.pairs == 6)
            #expect(!(try await evaluateRequests()).contains("status=\"400\""))
        }
    }
}
