import Foundation
import Pipeline
import Statistics
import Tuning

/// The verdict as a table and as JSON.
enum VerdictTable {
    /// `heldOut` names what the verdict was judged on: the test split, or a replayed log's held-out requests.
    static func printTable(_ v: OfflineTuning.Verdict, wallSeconds: Double, heldOut: String = "test split") {
        print("\nlearned configuration per category (its own only with evidence on train, else the shared best static):")
        for (name, c) in v.policyConfigurations.sorted(by: { $0.key < $1.key }) {
            let e = v.specialisation.evidence(for: name)
            let why = e.map { e in
                let gain = e.crossFittedGain.map { String(format: "; cross-fitted gain %+.4f [%+.4f, %+.4f]", $0.estimate, $0.lower, $0.upper) } ?? ""
                return " (\(e.specialised ? "own" : "shared"): \(e.reason.rawValue)\(gain))"
            } ?? " (shared: not in the train split)"
            print("  \(name): \(c)\(why)")
        }
        print("best static (chosen on train): \(v.bestStaticConfiguration)")
        print("choices on train: \(MetricsSummary.marginDescription)")
        for e in v.specialisation.evidence where !e.feasible {
            let gates = e.bestValues.keys.sorted().filter { e.shortfalls[$0] != nil }.map { gate in
                String(format: "%@ misses by %.1f%% (best any configuration reached: %.4g)", gate, 100 * e.shortfalls[gate]!, e.bestValues[gate]!)
            }
            print("category \(e.category): no configuration meets its gates on train; its own choice (the least shortfall) misses: \(gates.joined(separator: ", "))")
        }
        print("\n\(heldOut):")
        print(ReportTable.header)
        print(ReportTable.row("learned policy", v.policy))
        print(ReportTable.row("default static", v.defaultStatic))
        print(ReportTable.row("best static", v.bestStatic))
        print(ReportTable.row("per-category oracle", v.oracle))
        func line(_ name: String, _ g: BootstrapInterval) -> String {
            String(format: "gain vs %@ per query: %+.4f  (95%% CI %+.4f … %+.4f)", name, g.estimate, g.lower, g.upper)
        }
        let q = v.queryRewards
        print(String(format: "mean reward per query: policy %.4f, default static %.4f, best static %.4f, oracle %.4f",
                     q.policy, q.defaultStatic, q.bestStatic, q.oracle))
        print(line("default static", v.gainVersusDefault))
        print(line("best static", v.gainVersusBestStatic))
        print(line("oracle", v.gainVersusOracle))
        print("gates over the whole \(heldOut): \(v.overallGatesPassed ? "passed" : "breached")")
        print(v.gateViolations.isEmpty ? "gates per category: no violation by the learned configurations"
                                       : "gate violations in: \(v.gateViolations.joined(separator: ", "))")
        print(String(format: "wall time %.1f s", wallSeconds))
    }
}
