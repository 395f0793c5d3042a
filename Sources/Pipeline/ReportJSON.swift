import Foundation
import Scoring
import TunerPolicy

/// The JSON form of reports: snake_case metric names, overall and per category.
public enum ReportJSON {
    public static func metrics(_ m: MetricsSummary) -> [String: Any] {
        var object: [String: Any] = [
            "n": m.n,
            "ndcg_at_10": m.ndcgAt10,
            "recall_at_10": m.recallAt10,
            "faithfulness": m.faithfulness,
            "relevancy": m.relevancy,
            "latency_p50_ms": m.latencyP50Milliseconds,
            "latency_p95_ms": m.latencyP95Milliseconds,
            "cost_usd": m.costUSD,
            "error_rate": m.errorRate,
            "violation_rate": m.violationRate,
            "quality_spread": m.qualitySpread,
            "reward": m.reward.reward,
            "penalty": m.reward.penalty,
            "gates_passed": m.gatesPassed,
            "gates": m.reward.gates.map { ["name": $0.name, "value": $0.value, "threshold": $0.threshold, "passed": $0.passed] as [String: Any] },
        ]
        if let f1 = m.answerF1 { object["answer_f1"] = f1 }
        return object
    }

    public static func configuration(_ c: RAGSettings) -> [String: Any] {
        ["variant": c.variant.rawValue, "k": c.k, "rerank": c.rerank, "fusion_weight": c.fusionWeight, "template": c.template.rawValue]
    }

    /// `metrics(overall)` with `config` and `per_category` added.
    public static func configurationObject(_ report: BatchReport) -> [String: Any] {
        var object = metrics(report.overall)
        object["config"] = configuration(report.configuration)
        object["per_category"] = report.perCategory.mapValues(metrics)
        return object
    }
}
