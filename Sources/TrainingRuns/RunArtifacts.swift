import Foundation
import NumericCore
import Pipeline
import Statistics
import Tracking
import TunerPolicy
import Tuning

/// The files a finished run leaves in its folder: per-query predictions and contexts of the
/// learned policy on the test split, the verdict as CSV, every grid configuration on the test
/// split (the report's frontier) and the learned policy's action shares per category. Each is
/// written atomically.
enum RunArtifacts {
    static func write(_ verdict: OfflineTuning.Verdict, policy: Policy, tuning: OfflineTuning, store: RunStore, run: String) throws {
        let folder = store.runFolder(run)
        let dataset = tuning.system.dataset
        let pipeline = RAGPipeline(system: tuning.system)
        var predictions: [String] = []
        var contexts: [String] = []
        for (outcome, configuration) in zip(verdict.policyOutcomes, verdict.policyOutcomeConfigurations) {
            let query = dataset.queries[outcome.query]
            let prediction: [String: Any] = [
                "query_id": query.id, "category": query.category, "config": ReportJSON.configuration(configuration),
                "ndcg_at_10": outcome.ndcgAt10, "recall_at_10": outcome.recallAt10, "faithfulness": outcome.faithfulness,
                "relevancy": outcome.relevancy, "latency_ms": outcome.latencyMilliseconds, "cost_usd": outcome.costUSD,
                "reward": tuning.queryReward(outcome), "failed": outcome.failed,
            ]
            predictions.append(try line(prediction))
            let answered = try pipeline.run(query: outcome.query, configuration: configuration)
            contexts.append(try line([
                "query_id": query.id, "question": query.text,
                "contexts": answered.response.context.map { dataset.documents[Int($0.document)].id },
                "answer": answered.response.answerText,
            ]))
        }
        try AtomicFile.write(Data((predictions.joined(separator: "\n") + "\n").utf8), to: folder.appendingPathComponent("predictions.jsonl"))
        try AtomicFile.write(Data((contexts.joined(separator: "\n") + "\n").utf8), to: folder.appendingPathComponent("contexts.jsonl"))
        var csv = ["configuration,reward,faithfulness,relevancy,latency_p95_ms,cost_usd,gates_passed,gain_mean,gain_ci_low,gain_ci_high"]
        func row(_ name: String, _ m: MetricsSummary, _ gain: BootstrapInterval?) -> String {
            let g = gain.map { "\($0.estimate),\($0.lower),\($0.upper)" } ?? ",,"
            return "\(name),\(m.reward.reward),\(m.faithfulness),\(m.relevancy),\(m.latencyP95Milliseconds),\(m.costUSD),\(m.gatesPassed),\(g)"
        }
        csv.append(row("learned_policy", verdict.policy, nil))
        csv.append(row("default_static", verdict.defaultStatic, verdict.gainVersusDefault))
        csv.append(row("best_static", verdict.bestStatic, verdict.gainVersusBestStatic))
        csv.append(row("oracle", verdict.oracle, verdict.gainVersusOracle))
        try AtomicFile.write(Data((csv.joined(separator: "\n") + "\n").utf8), to: folder.appendingPathComponent("summary.csv"))
        try AtomicFile.write(Data(try gridCSV(tuning).utf8), to: folder.appendingPathComponent("grid.csv"))
        try AtomicFile.write(Data(try actionsCSV(policy, tuning: tuning).utf8), to: folder.appendingPathComponent("actions.csv"))
        for (name, file) in [("predictions", "predictions.jsonl"), ("contexts", "contexts.jsonl"), ("summary", "summary.csv"),
                             ("grid", "grid.csv"), ("actions", "actions.csv")] {
            try store.addArtifact(run: run, name: name, file: file)
        }
    }

    /// Every grid configuration on the test split, overall: where the run's choices sit among
    /// what it could have chosen.
    static func gridCSV(_ tuning: OfflineTuning) throws -> String {
        let workspace = tuning.testCache.makeWorkspace()
        var lines = ["variant,k,rerank,fusion_weight,template,faithfulness,relevancy,latency_p50_ms,latency_p95_ms,cost_usd,reward,gates_passed"]
        for c in tuning.grid {
            let m = try tuning.testCache.evaluate(c, reward: tuning.setup.reward, workspace: workspace).overall
            lines.append("\(c.variant.rawValue),\(c.k),\(c.rerank),\(c.fusionWeight),\(c.template.rawValue),\(m.faithfulness),\(m.relevancy),"
                         + "\(m.latencyP50Milliseconds),\(m.latencyP95Milliseconds),\(m.costUSD),\(m.reward.reward),\(m.gatesPassed)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// How often the learned (stochastic) policy takes each value of each discrete head in a
    /// category's starting context, over `samples` draws, and the category's mean train reward
    /// over the draws that took it: the share of each action with its conditional return.
    static func actionsCSV(_ policy: Policy, tuning: OfflineTuning, samples: Int = 256) throws -> String {
        let probe = tuning.environment(seed: 0)
        let cache = tuning.trainCache
        let workspace = cache.makeWorkspace()
        var rng = RandomGenerator(seed: 17)
        var rewards: [RAGSettings: [String: Double]] = [:]
        var lines = ["category,head,value,share,train_reward,samples"]
        for (c, category) in cache.categories.enumerated() {
            let observation = probe.initialObservation(category: c)
            var tally: [String: [String: (count: Int, reward: Double)]] = [:]
            for _ in 0..<samples {
                let settings = probe.configuration(for: policy.actionSpace.environmentValues(policy.sampledAction(observation, using: &rng)))
                if rewards[settings] == nil { rewards[settings] = try cache.evaluate(settings, reward: tuning.setup.reward, workspace: workspace).perCategory.mapValues(\.reward.reward) }
                let reward = rewards[settings]![category] ?? .nan
                for (head, value) in [("variant", settings.variant.rawValue), ("k", "\(settings.k)"), ("rerank", "\(settings.rerank)"),
                                      ("template", settings.template.rawValue)] {
                    let t = tally[head, default: [:]][value, default: (0, 0)]
                    tally[head, default: [:]][value] = (t.count + 1, t.reward + reward)
                }
            }
            for head in ["variant", "k", "rerank", "template"] {
                for (value, t) in tally[head, default: [:]].sorted(by: { $0.key < $1.key }) {
                    lines.append("\(category),\(head),\(value),\(Double(t.count) / Double(samples)),\(t.reward / Double(t.count)),\(t.count)")
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func line(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }
}
