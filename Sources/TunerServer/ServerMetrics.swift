import Prometheus

/// What `GET /metrics` exposes (Prometheus text format): requests and their latency by endpoint,
/// status and arm; the reward and gate breaches of evaluated batches.
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    /// Label values are limited to these so that a scan of random paths cannot grow the registry.
    static let endpoints: Set<String> = ["/tuner/evaluate", "/query", "/metrics", "/health"]
    static let latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

    func recordRequest(path: String, status: Int, arm: String?, seconds: Double) {
        let endpoint = Self.endpoints.contains(path) ? path : "other"
        let labels = [("endpoint", endpoint), ("status", String(status)), ("arm", arm ?? "none")]
        registry.makeCounter(name: "tuner_http_requests_total", labels: labels, help: "HTTP requests by endpoint, status and arm").increment()
        registry.makeValueHistogram(
            name: "tuner_http_request_duration_seconds", labels: [("endpoint", endpoint), ("arm", arm ?? "none")],
            buckets: Self.latencyBuckets, help: "HTTP request latency in seconds").record(seconds)
    }

    func recordEvaluation(reward: Double, gatesPassed: Bool, breaches: [String]) {
        registry.makeGauge(name: "tuner_last_batch_reward", help: "Reward of the last evaluated batch").set(reward)
        registry.makeCounter(name: "tuner_evaluated_batches_total", labels: [("gates", gatesPassed ? "pass" : "breach")],
                             help: "Evaluated batches by gate verdict").increment()
        for gate in breaches {
            registry.makeCounter(name: "tuner_gate_breaches_total", labels: [("gate", gate)], help: "Gate breaches by gate").increment()
        }
    }

    public func exposition() -> String { registry.emitToString() }
}
