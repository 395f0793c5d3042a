import Evaluators
import Foundation
import Scoring

/// `tuner grafana-dashboard`: a Grafana dashboard (JSON model, Prometheus data source chosen at
/// import) of every metric `tuner serve`, `tuner shadow` and `tuner canary` expose, with the gate
/// thresholds of a policy configuration and the canary's burn-rate thresholds drawn as lines.
public struct GrafanaDashboard {
    /// One time-series panel: its queries (PromQL, legend), unit and threshold lines.
    public struct Panel: Sendable {
        public var title: String
        public var queries: [(expression: String, legend: String)]
        public var unit: String
        public var thresholds: [(value: Double, colour: String)]
        public var description: String
    }

    public let gates: PolicyConfiguration.GateThresholds
    public let rule: CanaryRule.Options

    public init(gates: PolicyConfiguration.GateThresholds, rule: CanaryRule.Options = CanaryRule.Options()) {
        self.gates = gates
        self.rule = rule
    }

    /// Rows of panels, by the server that exports them.
    public var rows: [(title: String, panels: [Panel])] {
        let latency = gates.latencyP95MaxMilliseconds
        let quality = [(gates.faithfulnessMin, "orange"), (gates.relevancyMin, "red")]
        let burn = [(rule.longBurnThreshold, "orange"), (rule.shortBurnThreshold, "red")]
        return [
            ("tuner serve", [
                Panel(title: "Requests by endpoint and status", queries: [("sum by (endpoint, status) (rate(tuner_http_requests_total[5m]))", "{{endpoint}} {{status}}")],
                      unit: "reqps", thresholds: [], description: "Every server's requests; filter by job for one of them."),
                Panel(title: "Request latency p95 by endpoint",
                      queries: [("histogram_quantile(0.95, sum by (le, endpoint) (rate(tuner_http_request_duration_seconds_bucket[5m])))", "{{endpoint}}")],
                      unit: "s", thresholds: [(latency / 1000, "red")], description: "The red line is the p95 latency gate."),
                Panel(title: "/query by arm", queries: [("sum by (arm) (rate(tuner_http_requests_total{endpoint=\"/query\"}[5m]))", "{{arm}}")],
                      unit: "reqps", thresholds: [], description: "Who chose each answer's settings: policy, version, default, override; on the canary, baseline or candidate."),
                Panel(title: "Evaluated batches by gate verdict", queries: [("sum by (gates) (rate(tuner_evaluated_batches_total[5m]))", "{{gates}}"),
                                                                             ("rate(tuner_evaluated_queries_total[5m])", "questions/s")],
                      unit: "ops", thresholds: [], description: "POST /tuner/evaluate."),
                Panel(title: "Reward of the last evaluated batch", queries: [("tuner_last_batch_reward", "reward")], unit: "none", thresholds: [],
                      description: ""),
                Panel(title: "Gate breaches by gate", queries: [("sum by (gate) (increase(tuner_gate_breaches_total[1h]))", "{{gate}}")], unit: "none",
                      thresholds: [], description: "Breaches per hour of evaluated batches."),
            ]),
            ("tuner shadow", [
                Panel(title: "Mirrored answers", queries: [("sum by (result) (rate(tuner_shadow_mirrored_total[5m]))", "{{result}}"),
                                                            ("sum by (result) (rate(tuner_shadow_candidate_total[5m]))", "candidate {{result}}")],
                      unit: "ops", thresholds: [], description: "Dropped: the candidate's queue was full; failed: the candidate side answered no judged answer."),
                Panel(title: "Window reward by side", queries: [("tuner_shadow_window_reward", "{{side}}")], unit: "none", thresholds: [], description: ""),
                Panel(title: "Candidate − production, per query", queries: [("tuner_shadow_reward_difference", "{{bound}}")], unit: "none",
                      thresholds: [(0, "red")], description: "The last window's mean difference and its 95% interval; below the line the candidate is behind."),
                Panel(title: "Windows by the candidate's gates", queries: [("sum by (candidate_gates) (increase(tuner_shadow_windows_total[1h]))", "{{candidate_gates}}")],
                      unit: "none", thresholds: [], description: ""),
            ]),
            ("tuner canary", [
                Panel(title: "Traffic on the candidate", queries: [("tuner_canary_step_percent", "step")], unit: "percent", thresholds: [], description: ""),
                Panel(title: "Burn rate", queries: [("tuner_canary_burn_rate", "{{signal}} {{window}}")], unit: "none", thresholds: burn,
                      description: "Bad share over its budget; a rollback fires over \(rule.shortBurnThreshold) on the last window and \(rule.longBurnThreshold) on the long one."),
                Panel(title: "Window reward by arm", queries: [("tuner_canary_window_reward", "{{arm}}")], unit: "none", thresholds: [], description: ""),
                Panel(title: "Window faithfulness and relevancy by arm",
                      queries: [("tuner_canary_window_faithfulness", "{{arm}} faithfulness"), ("tuner_canary_window_relevancy", "{{arm}} relevancy")],
                      unit: "percentunit", thresholds: quality, description: "The lines are the faithfulness (orange) and relevancy (red) gates."),
                Panel(title: "Window p95 latency by arm", queries: [("tuner_canary_window_latency_p95_milliseconds", "{{arm}}")], unit: "ms",
                      thresholds: [(latency, "red")], description: "The red line is the p95 latency gate."),
                Panel(title: "Window error rate by arm", queries: [("tuner_canary_window_error_rate", "{{arm}}")], unit: "percentunit",
                      thresholds: [(gates.errorRateMax, "red")], description: "The red line is the error-rate gate."),
                Panel(title: "Sequential test p-value", queries: [("tuner_canary_sprt_p_value", "p")], unit: "none", thresholds: [(rule.alpha, "green")],
                      description: "Below α the step's rewards decide."),
                Panel(title: "Decisions", queries: [("sum by (action) (increase(tuner_canary_decisions_total[1h]))", "{{action}}")], unit: "none",
                      thresholds: [], description: "Hold, promote, rollback, complete per hour."),
            ]),
        ]
    }

    /// Every PromQL expression of the dashboard.
    public var expressions: [String] { rows.flatMap { $0.panels.flatMap { $0.queries.map(\.expression) } } }

    /// The dashboard's JSON model, ready for Grafana's import.
    public var json: Data {
        get throws {
            var panels: [[String: Any]] = []
            var y = 0
            var id = 1
            let datasource: [String: Any] = ["type": "prometheus", "uid": "${datasource}"]
            for row in rows {
                panels.append(["type": "row", "title": row.title, "id": id, "collapsed": false, "gridPos": ["h": 1, "w": 24, "x": 0, "y": y]])
                id += 1
                y += 1
                for (i, panel) in row.panels.enumerated() {
                    let steps: [[String: Any]] = [["color": "transparent", "value": NSNull()]]
                        + panel.thresholds.sorted { $0.value < $1.value }.map { ["color": $0.colour, "value": $0.value] }
                    panels.append([
                        "type": "timeseries", "id": id, "title": panel.title, "description": panel.description, "datasource": datasource,
                        "gridPos": ["h": 8, "w": 12, "x": (i % 2) * 12, "y": y + (i / 2) * 8],
                        "targets": panel.queries.enumerated().map { q, query -> [String: Any] in
                            ["refId": String(UnicodeScalar(UInt8(65 + q))), "expr": query.expression, "legendFormat": query.legend, "datasource": datasource]
                        },
                        "fieldConfig": [
                            "defaults": [
                                "unit": panel.unit,
                                "thresholds": ["mode": "absolute", "steps": steps],
                                "custom": ["thresholdsStyle": ["mode": panel.thresholds.isEmpty ? "off" : "line"]],
                            ] as [String: Any],
                            "overrides": [Any](),
                        ] as [String: Any],
                    ])
                    id += 1
                }
                y += (row.panels.count + 1) / 2 * 8
            }
            let dashboard: [String: Any] = [
                "title": "RAG Tuner", "uid": "rag-tuner", "schemaVersion": 39, "version": 1, "editable": true, "refresh": "30s",
                "time": ["from": "now-6h", "to": "now"], "tags": ["rag-tuner"],
                "templating": ["list": [["name": "datasource", "type": "datasource", "query": "prometheus", "label": "Prometheus"]]],
                "panels": panels,
            ]
            return try JSONSerialization.data(withJSONObject: dashboard, options: [.prettyPrinted, .sortedKeys])
        }
    }
}
