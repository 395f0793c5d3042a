import Prometheus

/// What `GET /metrics` exposes (Prometheus text format): requests and their latency by endpoint,
/// status and arm; the reward and gate breaches of evaluated batches.
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    /// Label values are limited to these so that a scan of random paths cannot grow the registry.
    static let endpoints: Set<String> = ["/tuner/evaluate", "/tuner/evaluator", "/query", "/metrics", "/health"]
    static let latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

    /// The metric `tuner_<name>_<unit>` (no unit suffix when `unit` is empty).
    static func metric(_ name: String, unit: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "tuner", metricName: name, unitName: unit, helpText: help)
    }

    func recordRequest(path: String, status: Int, arm: String?, seconds: Double) {
        let endpoint = Self.endpoints.contains(path) ? path : "other"
        let labels = [("endpoint", endpoint), ("status", String(status)), ("arm", arm ?? "none")]
        registry.makeCounter(descriptor: Self.metric("http_requests", unit: "total", help: "HTTP requests by endpoint, status and arm"), labels: labels).increment()
        registry.makeValueHistogram(
            descriptor: Self.metric("http_request_duration", unit: "seconds", help: "HTTP request latency in seconds"),
            labels: [("endpoint", endpoint), ("arm", arm ?? "none")], buckets: Self.latencyBuckets
        ).record(seconds)
    }

    func recordEvaluation(reward: Double, gatesPassed: Bool, breaches: [String], queries: Int) {
        registry.makeCounter(descriptor: Self.metric("evaluated_queries", unit: "total", help: "Questions answered through /tuner/evaluate"))
            .increment(by: Int64(queries))
        registry.makeGauge(descriptor: Self.metric("last_batch_reward", unit: "", help: "Reward of the last evaluated batch")).set(reward)
        registry.makeCounter(descriptor: Self.metric("evaluated_batches", unit: "total", help: "Evaluated batches by gate verdict"),
                             labels: [("gates", gatesPassed ? "pass" : "breach")]).increment()
        for gate in breaches {
            registry.makeCounter(descriptor: Self.metric("gate_breaches", unit: "total", help: "Gate breaches by gate"), labels: [("gate", gate)]).increment()
        }
    }

    public func exposition() -> String { registry.emitToString() }
}
