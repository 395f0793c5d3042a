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
                let local = try Loopback.evaluator.report(.init(configuration: RAGSettings(), batch: .init(size: 50, split: "train", seed: copy.next(), category: "warranty")))
                #expect(abs(remoteScore.reward - local.overall.reward.reward) < 1e-9 && remoteScore.faithfulness == local.overall.faithfulness)

                var options = RAGTuningEnvironment.Options()
                options.batchSize = 50
                let tuning = RemoteTuning(source: source, policy: Loopback.evaluator.setup.policy, options: options)
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
            #expect(verdict.batches == 15 && Set(verdict.configurations.keys) == ["error_code", "overview", "warranty"])
            #expect(verdict.configurations.values.allSatisfy { (3...32).contains($0.k) })
            // The default configuration fails the warranty questions' gates; what PPO learns does not.
            #expect(verdict.gain.lower > 0, "\(verdict.gain)")
            #expect(verdict.learned["warranty"]! > verdict.defaultStatic["warranty"]!)
        }
    }
}
