import Pipeline
import Statistics

/// The JSON form of an offline training run's verdict.
extension ReportJSON {
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
