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
    /// `--evaluator URL`: PPO on the evaluator's train split within the budget, the verdict on its
    /// test split.
    func trainAgainstEvaluator() throws {
        let clock = ContinuousClock.now
        let policy = try DatasetOptions.policyConfiguration(data.policy)
        let ledger = EvaluationLedger(budget: remote.budget)
        let evaluators = remote.evaluators
        var environmentOptions = RAGTuningEnvironment.Options()
        environmentOptions.batchSize = batchSize
        let source = try Self.source(evaluators, remote: remote, ledger: ledger, out: out, seed: seed)
        let tuning = RemoteTuning(source: source, policy: policy, options: environmentOptions)
        if !output.json { print("evaluator \(remote.urls.joined(separator: ", ")): categories \(tuning.categories.joined(separator: ", "))") }

        var ppo = try PPOConfiguration.ragTuning.applying(overrides: overrides)
        ppo.totalSteps = steps
        ppo.seed = seed
        let trainer = try tuning.trainer(ppo)
        let store = try RunStore(folder: URL(fileURLWithPath: out))
        var record = RunRecord(
            id: RunStore.newRunID(), experiment: "evaluator", created: Date(), status: "running",
            command: CommandLine.arguments.joined(separator: " "), datasetPath: remote.urls.joined(separator: "\n"),
            datasetID: "evaluator:\(URL(string: remote.urls[0])?.host ?? "")",
            datasetCommit: nil, policyConfigurationHash: data.policy ?? "built-in", projectVersion: TunerVersion.current, seed: Int64(seed),
            hyperparameters: String(decoding: try JSONEncoder.sorted.encode(Hyperparameters(ppo: ppo, environment: environmentOptions, selection: .last)), as: UTF8.self))
        try store.create(record)
        let runID = record.id
        if !output.json { print(Self.progressLegend) }
        var stoppedBy = "steps"
        do {
            do {
                try trainer.train { metrics in
                    try? store.log(run: runID, update: metrics.update, step: metrics.globalStep, metrics: Self.numbers(metrics, batches: environmentOptions.batchesPerEpisode))
                    if !output.json && (metrics.update % 10 == 0 || trainer.isFinished) {
                        print(String(format: "update %4d/%d  reward %7.4f  KL %.4f  entropy %.3f  %@  %.1f s", metrics.update, trainer.configuration.updateCount,
                                     (metrics.meanEpisodeReturn ?? .nan) / Double(environmentOptions.batchesPerEpisode), metrics.approximateKL,
                                     metrics.entropy, Self.spent(ledger), Self.seconds(ContinuousClock.now - clock)))
                    }
                    return true
                }
            } catch let error where (source.batchSource.lastFailure ?? error) is EvaluationLedger.Exhausted {
                // The budget ends tuning, not the run: the policy of the last whole update is judged.
                stoppedBy = "budget"
                if !output.json { print("\((source.batchSource.lastFailure ?? error))") }
            }
            let checkpoint = trainer.checkpoint
            try checkpoint.write(to: store.runFolder(runID).appendingPathComponent("policy.ckpt"))
            try store.addArtifact(run: runID, name: "policy-checkpoint", file: "policy.ckpt")
            let verdict = try tuning.verdict(policy: Policy(checkpoint: checkpoint), bootstrap: Bootstrap(seed: seed))
            record.status = "finished"
            record.wallSeconds = Self.seconds(ContinuousClock.now - clock)
            let object = Self.verdictObject(verdict, runID: runID, urls: remote.urls, spending: ledger.spending, stoppedBy: stoppedBy,
                                            wallSeconds: record.wallSeconds ?? 0)
            record.verdict = String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
            try store.update(record)
            if output.json { try ReportJSON.print(object); return }
            Self.printVerdict(verdict, spending: ledger.spending, wallSeconds: record.wallSeconds ?? 0)
        } catch {
            record.status = "failed"
            try? store.update(record)
            // A NaN reward from the environment means the evaluator failed: report why.
            throw source.batchSource.lastFailure ?? error
        }
    }

    /// Per question, with the result store in `out`, when the evaluator describes itself; else
    /// seeded batches from the first endpoint.
    static func source(_ evaluators: [RemoteEvaluator], remote: EvaluatorOptions, ledger: EvaluationLedger, out: String, seed: UInt64) throws -> RemoteTuning.Source {
        if let description = try waitOnThisThread({ try await evaluators[0].describe() }) {
            return .perQuery(try RemoteQuerySource(
                evaluators: evaluators, description: description, poolSize: remote.poolSize, seed: seed, corpusDocuments: remote.corpusDocuments,
                ledger: ledger, store: try QueryResultStore(folder: URL(fileURLWithPath: out)), concurrency: remote.concurrency))
        }
        FileHandle.standardError.write(Data("""
            tuner: \(evaluators[0].baseURL.absoluteString) has no GET /tuner/evaluator, so it answers aggregates only: tuning draws seeded \
            batches from it alone, nothing is kept per question, and the verdict pairs batches (the slower path)

            """.utf8))
        return .batches(try RemoteBatchSource(evaluator: evaluators[0], corpusDocuments: remote.corpusDocuments, ledger: ledger))
    }

    static func spent(_ ledger: EvaluationLedger) -> String {
        let s = ledger.spending
        var text = "spent \(s.tuningQueries)"
        if let q = ledger.budget.queries { text += "/\(q)" }
        text += String(format: " queries $%.4f", s.tuningUSD)
        if let usd = ledger.budget.usd { text += String(format: "/$%.2f", usd) }
        return text + " (\(s.reused) reused)"
    }

    static func verdictObject(_ v: RemoteTuning.Verdict, runID: String, urls: [String], spending s: EvaluationLedger.Spending, stoppedBy: String,
                              wallSeconds: Double) -> [String: Any] {
        let configurations = v.configurations.mapValues(ReportJSON.configuration)
        return [
            "run_id": runID, "evaluators": urls, "stopped_by": stoppedBy, "wall_seconds": wallSeconds,
            "query_evaluations": s.tuningQueries, "verdict_query_evaluations": s.verdictQueries,
            "cost_usd": s.tuningUSD, "verdict_cost_usd": s.verdictUSD, "requests": s.requests, "reused_results": s.reused,
            "unjudged_categories": v.unjudgedCategories, "policy_configs": configurations,
            "learned_reward": v.learned, "default_reward": v.defaultStatic,
            // In the offline verdict's place, so `tuner runs list` and `compare` read them too.
            "test": [
                "policy_reward": v.policyReward, "default_static_reward": v.defaultReward, "gain_vs_default": ReportJSON.interval(v.gain),
                "pairs": v.pairs, "paired_over": v.pairing.rawValue, "gate_violations": v.gateViolations, "policy_configs": configurations,
            ] as [String: Any],
        ]
    }

    static func printVerdict(_ v: RemoteTuning.Verdict, spending s: EvaluationLedger.Spending, wallSeconds: Double) {
        let judgedOn = v.pairing == .queries ? "every held-out question" : "\(v.pairs / max(v.configurations.count, 1)) seeded batches each"
        print("\nlearned configuration per category (held-out split, \(judgedOn)):")
        for category in v.configurations.keys.sorted() {
            print(String(format: "  %@: %@  reward %.4f (default %.4f)", category, v.configurations[category]!.description,
                         v.learned[category] ?? .nan, v.defaultStatic[category] ?? .nan))
        }
        print(String(format: "held-out reward: policy %.4f, default static %.4f", v.policyReward, v.defaultReward))
        print(String(format: "gain vs default static per %@: %+.4f  (95%% CI %+.4f … %+.4f)", v.pairing == .queries ? "query" : "batch",
                     v.gain.estimate, v.gain.lower, v.gain.upper))
        if !v.unjudgedCategories.isEmpty { print("not judged (no held-out question): \(v.unjudgedCategories.joined(separator: ", "))") }
        print(v.gateViolations.isEmpty ? "gates: no breach by the learned configurations" : "gate violations in: \(v.gateViolations.joined(separator: ", "))")
        print(String(format: "paid: tuning %d query-evaluations ($%.4f), verdict %d ($%.4f), %d requests, %d results reused; wall time %.1f s",
                     s.tuningQueries, s.tuningUSD, s.verdictQueries, s.verdictUSD, s.requests, s.reused, wallSeconds))
    }
}
