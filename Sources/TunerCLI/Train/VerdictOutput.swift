import Evaluation
import Foundation
import TunerEnvironment

/// The verdict as a table and as JSON.
enum VerdictJSON {
    static func gain(_ interval: BootstrapInterval) -> [String: Any] {
        ["mean": interval.estimate, "ci_low": interval.lower, "ci_high": interval.upper]
    }

    static func object(_ v: OfflineTuning.Verdict, wallSeconds: Double, dataset: String) -> [String: Any] {
        [
            "dataset": dataset,
            "wall_seconds": wallSeconds,
            "test": [
                "policy_reward": v.policy.reward.reward,
                "default_static_reward": v.defaultStatic.reward.reward,
                "best_static_reward": v.bestStatic.reward.reward,
                "oracle_reward": v.oracle.reward.reward,
                "gain_vs_default": gain(v.gainVersusDefault),
                "gain_vs_best_static": gain(v.gainVersusBestStatic),
                "gain_vs_oracle": gain(v.gainVersusOracle),
                "gate_violations": v.gateViolations,
                "policy_configs": v.policyConfigurations.mapValues(ReportJSON.configuration),
                "best_static_config": ReportJSON.configuration(v.bestStaticConfiguration),
                "oracle_configs": v.oracleConfigurations.mapValues(ReportJSON.configuration),
                "policy": ReportJSON.metrics(v.policy),
            ] as [String: Any],
        ]
    }

    static func printTable(_ v: OfflineTuning.Verdict, wallSeconds: Double) {
        print("\nlearned configuration per category:")
        for (name, c) in v.policyConfigurations.sorted(by: { $0.key < $1.key }) { print("  \(name): \(c)") }
        print("best static (chosen on train): \(v.bestStaticConfiguration)")
        print("\ntest split:")
        print(ReportTable.header)
        print(ReportTable.row("learned policy", v.policy))
        print(ReportTable.row("default static", v.defaultStatic))
        print(ReportTable.row("best static", v.bestStatic))
        print(ReportTable.row("per-category oracle", v.oracle))
        func line(_ name: String, _ g: BootstrapInterval) -> String {
            String(format: "gain vs %@ per query: %+.4f  (95%% CI %+.4f … %+.4f)", name, g.estimate, g.lower, g.upper)
        }
        print(line("default static", v.gainVersusDefault))
        print(line("best static", v.gainVersusBestStatic))
        print(line("oracle", v.gainVersusOracle))
        print(v.gateViolations.isEmpty ? "gates: no violation by the learned configurations"
                                       : "gate violations in: \(v.gateViolations.joined(separator: ", "))")
        print(String(format: "wall time %.1f s", wallSeconds))
    }
}
