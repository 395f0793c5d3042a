import ArgumentParser
import Evaluators
import Foundation
import Pipeline
import PPO
import Statistics
import Tracking
import TunerPolicy
import Tuning

extension Tuner.Train {
    /// `--evaluator URL`: PPO on the evaluator's train split, the verdict on its test split.
    func trainAgainst(_ url: URL) throws {
        let clock = ContinuousClock.now
        let policy = try DatasetOptions.policyConfiguration(data.policy)
        let remote = RemoteEvaluator(baseURL: url, timeout: evaluatorTimeout, requestsPerSecond: evaluatorRate)
        let source = try RemoteBatchSource(evaluator: remote, corpusDocuments: corpusDocuments)
        var environmentOptions = RAGTuningEnvironment.Options()
        environmentOptions.batchSize = batchSize
        let tuning = RemoteTuning(source: source, policy: policy, options: environmentOptions)
        if !output.json { print("evaluator \(url.absoluteString): categories \(source.categories.joined(separator: ", "))") }

        var ppo = try PPOConfiguration.ragTuning.applying(overrides: overrides)
        ppo.totalSteps = steps
        ppo.seed = seed
        let trainer = try tuning.trainer(ppo)
        let store = try RunStore(folder: URL(fileURLWithPath: out))
        var record = RunRecord(
            id: RunStore.newRunID(), experiment: "evaluator", created: Date(), status: "running",
            command: CommandLine.arguments.joined(separator: " "), datasetPath: url.absoluteString, datasetID: "evaluator:\(url.host ?? "")",
            datasetCommit: nil, policyConfigurationHash: data.policy ?? "built-in", projectVersion: TunerVersion.current, seed: Int64(seed),
            hyperparameters: String(decoding: try JSONEncoder.sorted.encode(Hyperparameters(ppo: ppo, environment: environmentOptions, selection: .last)), as: UTF8.self))
        try store.create(record)
        let runID = record.id
        if !output.json { print(Self.progressLegend) }
        do {
            try trainer.train { metrics in
                try? store.log(run: runID, update: metrics.update, step: metrics.globalStep, metrics: Self.numbers(metrics, batches: environmentOptions.batchesPerEpisode))
                if !output.json && (metrics.update % 10 == 0 || trainer.isFinished) {
                    print(String(format: "update %4d/%d  reward %7.4f  KL %.4f  entropy %.3f  %.1f s", metrics.update, trainer.configuration.updateCount,
                                 (metrics.meanEpisodeReturn ?? .nan) / Double(environmentOptions.batchesPerEpisode), metrics.approximateKL,
                                 metrics.entropy,
                                 Self.seconds(ContinuousClock.now - clock)))
                }
                return true
            }
            let checkpoint = trainer.checkpoint
            try checkpoint.write(to: store.runFolder(runID).appendingPathComponent("policy.ckpt"))
            try store.addArtifact(run: runID, name: "policy-checkpoint", file: "policy.ckpt")
            let verdict = try tuning.verdict(policy: Policy(checkpoint: checkpoint), bootstrap: Bootstrap(seed: seed))
            record.status = "finished"
            record.wallSeconds = Self.seconds(ContinuousClock.now - clock)
            let object: [String: Any] = [
                "run_id": runID, "evaluator": url.absoluteString, "batches": verdict.batches, "gate_breaches": verdict.gateBreaches,
                "unjudged_categories": verdict.unjudgedCategories,
                "configurations": verdict.configurations.mapValues(ReportJSON.configuration),
                "learned_reward": verdict.learned, "default_reward": verdict.defaultStatic,
                "gain_vs_default": ReportJSON.interval(verdict.gain), "wall_seconds": record.wallSeconds ?? 0,
                // The same figures in the offline verdict's place, so `tuner runs list` and `compare` read them too:
                // every category has as many batches, so the mean over categories is the mean batch reward.
                "test": [
                    "policy_reward": verdict.learned.values.reduce(0, +) / Double(max(verdict.learned.count, 1)),
                    "default_static_reward": verdict.defaultStatic.values.reduce(0, +) / Double(max(verdict.defaultStatic.count, 1)),
                    "gain_vs_default": ReportJSON.interval(verdict.gain),
                ] as [String: Any],
            ]
            record.verdict = String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
            try store.update(record)
            if output.json { try ReportJSON.print(object); return }
            print("\nlearned configuration per category (held-out split, \(verdict.batches / max(verdict.configurations.count, 1)) batches each):")
            for category in verdict.configurations.keys.sorted() {
                print(String(format: "  %@: %@  reward %.4f (default %.4f)", category, verdict.configurations[category]!.description,
                             verdict.learned[category]!, verdict.defaultStatic[category]!))
            }
            print(String(format: "gain vs default static per batch: %+.4f  (95%% CI %+.4f … %+.4f)", verdict.gain.estimate, verdict.gain.lower, verdict.gain.upper))
            if !verdict.unjudgedCategories.isEmpty {
                print("not judged (no held-out question): \(verdict.unjudgedCategories.joined(separator: ", "))")
            }
            print("gates: \(verdict.gateBreaches == 0 ? "no breach" : "\(verdict.gateBreaches) batches breached") by the learned configurations")
        } catch {
            record.status = "failed"
            try? store.update(record)
            // A NaN reward from the environment means the evaluator failed: report why.
            throw source.lastFailure ?? error
        }
    }
}
