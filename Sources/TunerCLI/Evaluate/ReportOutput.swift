import Foundation
import Pipeline
import Scoring

extension ReportJSON {
    static func print(_ object: [String: Any]) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        Swift.print(String(decoding: data, as: UTF8.self))
    }
}

/// Human-readable tables.
enum ReportTable {
    /// Wide enough for the longest row label, "per-category oracle".
    static let labelWidth = 20
    static let header = String(repeating: " ", count: labelWidth + 4) + "n  nDCG@10 rec@10  faith  relev  p50 ms  p95 ms  cost/q $   reward  gates"

    static func row(_ label: String, _ m: MetricsSummary) -> String {
        let name = label.count > labelWidth ? String(label.prefix(labelWidth)) : label.padding(toLength: labelWidth, withPad: " ", startingAt: 0)
        return name + String(
            format: " %5d  %6.3f %6.3f %6.3f %6.3f %7.1f %7.1f %9.6f %8.4f  %@",
            m.n, m.ndcgAt10, m.recallAt10, m.faithfulness, m.relevancy, m.latencyP50Milliseconds,
            m.latencyP95Milliseconds, m.costUSD, m.reward.reward, m.gatesPassed ? "pass" : "FAIL: " + failedGates(m))
    }

    static func failedGates(_ m: MetricsSummary) -> String {
        m.reward.gates.filter { !$0.passed }.map(\.name).joined(separator: ",")
    }

    static func printReport(_ report: BatchReport) {
        print("configuration: \(report.configuration)")
        print(header)
        print(row("overall", report.overall))
        for category in report.perCategory.keys.sorted() { print(row(category, report.perCategory[category]!)) }
        if let f1 = report.overall.answerF1 { print(String(format: "answer token F1 (SQuAD): %.3f", f1)) }
        print(String(format: "error rate %.4f, policy violations %.4f, quality spread %.3f, penalty %.3f",
                     report.overall.errorRate, report.overall.violationRate, report.overall.qualitySpread, report.overall.reward.penalty))
    }

    static func printConfigurations(_ reports: [BatchReport]) {
        print("top configurations by reward:")
        for report in reports {
            print(row("", report.overall) + "  " + report.configuration.description)
        }
    }
}
