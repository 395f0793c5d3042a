import ArgumentParser
import Evaluators
import Foundation
import Pipeline
import PPO
import Scoring
import Statistics
import Tracking
import TrainingRuns
import TunerPolicy
import Tuning

extension Tuner.Train {
    /// `--evaluator URL`: PPO on the evaluator's train split within the budget, the verdict on its
    /// test split.
    func trainAgainstEvaluator() throws {
        let ledger = EvaluationLedger(budget: remote.budget)
        let settings = try TrainingSettings(steps: steps, seed: seed, batchSize: batchSize, overrides: overrides, selection: .last)
        let policy = try data.policy.load()
        let source = try Self.source(try remote.evaluators, policy: policy, remote: remote, ledger: ledger, out: out, seed: seed)
        let tuning = RemoteTuning(source: source, policy: policy, options: settings.environment,
                                  search: remote.strategy == .search ? BudgetedSearch.Options() : nil)
        if remote.strategy == .search, tuning.search == nil { Self.warn("--strategy search needs per-question answers: this run trains PPO on the evaluator's batches") }
        if !output.json { print("evaluator \(remote.urls.joined(separator: ", ")): categories \(tuning.categories.joined(separator: ", "))") }
        let record = RunRecord(
            id: RunStore.newRunID(), experiment: "evaluator", created: Date(), status: .running,
            command: CommandLine.arguments.joined(separator: " "), datasetPath: remote.urls.joined(separator: "\n"),
            datasetID: "evaluator:\(try remote.endpoints[0].host ?? "")", datasetCommit: nil, policyConfigurationHash: data.policy.policy ?? "built-in",
            projectVersion: TunerVersion.current, seed: Int64(seed), hyperparameters: "")
        let run = try TrainingRun(.remote(tuning), settings: settings, store: try RunStore(folder: URL(fileURLWithPath: out)), record: record)
        // An evaluator run keeps no trainer checkpoint: run it again, and the result store answers what was paid for.
        try finish(run, printing: "the same command (the result store in \(out) keeps what was paid for)")
    }

    /// Per question, with the result store in `out`, when the evaluator describes itself; else
    /// seeded batches from the first endpoint. The knobs tuned are those the policy file declares
    /// for the service, else the built-in pipeline's within the file's bounds where the evaluator
    /// has those, else the evaluator's own.
    static func source(_ evaluators: [RemoteEvaluator], policy: PolicyConfiguration, remote: EvaluatorOptions, ledger: EvaluationLedger, out: String,
                       seed: UInt64) throws -> RemoteTuning.Source {
        if let description = try waitOnThisThread({ try await evaluators[0].describe() }) {
            let pipeline = description.knobs.map { $0.names == PolicyConfiguration.pipelineKnobNames } ?? true
            return .perQuery(try RemoteQuerySource(
                evaluators: evaluators, description: description, knobs: try policy.serviceKnobs ?? (pipeline ? policy.knobs() : nil), poolSize: remote.poolSize, seed: seed, corpusDocuments: remote.corpusDocuments,
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

    static func printVerdict(_ v: RemoteTuning.Verdict, spending s: EvaluationLedger.Spending, search: [BudgetedSearch.UnitResult]?, wallSeconds: Double) {
        let judgedOn = v.pairing == .queries ? "every held-out question" : "\(v.pairs / max(v.configurations.count, 1)) seeded batches each"
        print("\nlearned configuration per category (held-out split, \(judgedOn)):")
        for category in v.configurations.keys.sorted() {
            print(String(format: "  %@: %@  reward %.4f (default %.4f)", category, v.configurations[category]!.description,
                         v.learned[category] ?? .nan, v.defaultStatic[category] ?? .nan))
        }
        print(String(format: "held-out reward: policy %.4f, default static %.4f", v.policyReward, v.defaultReward))
        for unit in search ?? [] {
            print(String(format: "search of %@: %@ (train reward %.4f judged from its answers on %d questions); %d query-evaluations, %d configurations refined in %d rounds",
                         unit.categories.joined(separator: ", "), unit.chosen.description, unit.trainReward, unit.questions, unit.paid,
                         unit.refined, unit.rounds))
        }
        print(String(format: "gain vs default static per %@: %+.4f  (95%% CI %+.4f … %+.4f)", v.pairing == .queries ? "query" : "batch",
                     v.gain.estimate, v.gain.lower, v.gain.upper))
        if !v.unjudgedCategories.isEmpty { print("not judged (no held-out question): \(v.unjudgedCategories.joined(separator: ", "))") }
        print(v.gateViolations.isEmpty ? "gates: no breach by the learned configurations" : "gate violations in: \(v.gateViolations.joined(separator: ", "))")
        print(String(format: "paid: tuning %d query-evaluations ($%.4f), verdict %d ($%.4f), %d requests, %d results reused; wall time %.1f s",
                     s.tuningQueries, s.tuningUSD, s.verdictQueries, s.verdictUSD, s.requests, s.reused, wallSeconds))
    }
}
