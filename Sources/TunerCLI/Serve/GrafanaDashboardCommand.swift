import ArgumentParser
import Foundation
import TunerServer

extension Tuner {
    struct GrafanaDashboardCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "grafana-dashboard",
            abstract: "Print a Grafana dashboard (JSON) of the metrics tuner serve, shadow and canary expose.",
            discussion: """
                tuner grafana-dashboard > dashboard.json, then import it in Grafana and pick the Prometheus \
                data source that scrapes the servers' GET /metrics. Gate thresholds come from the policy \
                configuration; the canary's burn-rate thresholds from its defaults.
                """)

        @OptionGroup var policy: PolicyFileOptions

        func run() throws {
            let dashboard = GrafanaDashboard(gates: try policy.load().gates)
            print(String(decoding: try dashboard.json, as: UTF8.self))
        }
    }
}
