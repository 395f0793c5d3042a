import Foundation
import NumericCore
import Pipeline
import Statistics
import Tracking
import Tuning

/// The files a finished run leaves in its folder: per-query predictions and contexts of the
/// learned policy on the test split, and the verdict as CSV. Each is written atomically.
enum RunArtifacts {
    static func write(_ verdict: OfflineTuning.Verdict, tuning: OfflineTuning, store: RunStore, run: String) throws {
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
        for (name, file) in [("predictions", "predictions.jsonl"), ("contexts", "contexts.jsonl"), ("summary", "summary.csv")] {
            try store.addArtifact(run: run, name: name, file: file)
        }
    }

    private static func line(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }
}
