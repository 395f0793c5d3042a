import Evaluation
import Foundation
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

    // MARK: The verdict of an offline training run

    public static func interval(_ interval: BootstrapInterval) -> [String: Any] {
        ["mean": interval.estimate, "ci_low": interval.lower, "ci_high": interval.upper]
    }

    public static func verdict(_ v: OfflineTuning.Verdict, wallSeconds: Double, dataset: String) -> [String: Any] {
        [
            "dataset": dataset,
            "wall_seconds": wallSeconds,
            "test": [
                "policy_reward": v.policy.reward.reward,
                "default_static_reward": v.defaultStatic.reward.reward,
                "best_static_reward": v.bestStatic.reward.reward,
                "oracle_reward": v.oracle.reward.reward,
                "gain_vs_default": interval(v.gainVersusDefault),
                "gain_vs_best_static": interval(v.gainVersusBestStatic),
                "gain_vs_oracle": interval(v.gainVersusOracle),
                "query_reward": [
                    "policy": v.queryRewards.policy, "default_static": v.queryRewards.defaultStatic,
                    "best_static": v.queryRewards.bestStatic, "oracle": v.queryRewards.oracle,
                ],
                "gate_violations": v.gateViolations,
                "gates_unattainable": v.unattainableGateCategories,
                "overall_gates_passed": v.overallGatesPassed,
                "policy_configs": v.policyConfigurations.mapValues(configuration),
                "best_static_config": configuration(v.bestStaticConfiguration),
                "oracle_configs": v.oracleConfigurations.mapValues(configuration),
                "policy": metrics(v.policy),
            ] as [String: Any],
        ]
    }
}
