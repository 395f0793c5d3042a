import Evaluators
import Foundation
import Hummingbird
import Prometheus

/// What `GET /metrics` exposes (Prometheus text format) on `tuner serve`, `tuner shadow` and
/// `tuner canary`: requests and their latency by endpoint, status and arm; on serve, the reward
/// and gate breaches of evaluated batches; on shadow, what was mirrored and each window's
/// comparison; on canary, each window's figures by arm, burn rates and decisions.
/// ``GrafanaDashboard`` draws these names.
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    /// Label values are limited to these so that a scan of random paths cannot grow the registry.
    static let endpoints: Set<String> = [
        "/tuner/evaluate", "/tuner/evaluator", "/query", "/decide", "/outcome", "/admin/reload", "/shadow/status", "/metrics", "/health",
    ]
    static let latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

    public init() {}

    /// The metric `tuner_<name>_<unit>` (no unit suffix when `unit` is empty).
    static func metric(_ name: String, unit: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "tuner", metricName: name, unitName: unit, helpText: help)
    }

    private func count(_ name: String, _ help: String, labels: [(String, String)] = [], by amount: Int = 1) {
        registry.makeCounter(descriptor: Self.metric(name, unit: "total", help: help), labels: labels).increment(by: Int64(amount))
    }

    private func gauge(_ name: String, unit: String = "", _ help: String, labels: [(String, String)] = [], _ value: Double) {
        guard value.isFinite else { return }
        registry.makeGauge(descriptor: Self.metric(name, unit: unit, help: help), labels: labels).set(value)
    }

    func recordRequest(path: String, status: Int, arm: String?, seconds: Double) {
        let endpoint = Self.endpoints.contains(path) ? path : "other"
        count("http_requests", "HTTP requests by endpoint, status and arm", labels: [("endpoint", endpoint), ("status", String(status)), ("arm", arm ?? "none")])
        registry.makeValueHistogram(
            descriptor: Self.metric("http_request_duration", unit: "seconds", help: "HTTP request latency in seconds"),
            labels: [("endpoint", endpoint), ("arm", arm ?? "none")], buckets: Self.latencyBuckets
        ).record(seconds)
    }

    func recordEvaluation(reward: Double, gatesPassed: Bool, breaches: [String], queries: Int) {
        count("evaluated_queries", "Questions answered through /tuner/evaluate", by: queries)
        gauge("last_batch_reward", "Reward of the last evaluated batch", reward)
        count("evaluated_batches", "Evaluated batches by gate verdict", labels: [("gates", gatesPassed ? "pass" : "breach")])
        for gate in breaches { count("gate_breaches", "Gate breaches by gate", labels: [("gate", gate)]) }
    }

    /// A production answer's candidate half: queued, dropped (queue full) or unjudged (no judgement to compare).
    func recordMirror(_ result: String) {
        count("shadow_mirrored", "Production answers offered to the candidate side, by result", labels: [("result", result)])
    }

    func recordCandidate(failed: Bool) {
        count("shadow_candidate", "Candidate answers, by result", labels: [("result", failed ? "failed" : "compared")])
    }

    func recordShadowWindow(_ w: ShadowComparison.Window) {
        count("shadow_windows", "Closed comparison windows, by the candidate's gates", labels: [("candidate_gates", w.candidateGatesPassed ? "pass" : "breach")])
        for (side, reward) in [("production", w.productionReward), ("candidate", w.candidateReward)] {
            gauge("shadow_window_reward", "Mean per-query reward in the last window, by side", labels: [("side", side)], reward)
        }
        for (bound, value) in [("mean", w.difference.estimate), ("ci_low", w.difference.lower), ("ci_high", w.difference.upper)] {
            gauge("shadow_reward_difference", "Candidate minus production per query in the last window, with its 95% interval",
                  labels: [("bound", bound)], value)
        }
    }

    func recordCanary(_ e: CanaryController.Evaluation) {
        let action = switch e.action {
        case .hold: "hold"
        case .promote: "promote"
        case .rollback: "rollback"
        case .complete: "complete"
        }
        count("canary_decisions", "Canary window decisions, by action", labels: [("action", action)])
        gauge("canary_step", unit: "percent", "Share of traffic on the candidate", e.step)
        for (signal, window, value) in [("error", "short", e.errorBurnShort), ("error", "long", e.errorBurnLong),
                                        ("latency", "short", e.latencyBurnShort), ("latency", "long", e.latencyBurnLong)] {
            gauge("canary_burn_rate", "Candidate's bad share over its budget, by signal and window", labels: [("signal", signal), ("window", window)], value)
        }
        gauge("canary_sprt_p_value", "p-value of the sequential test of the step's rewards", e.sprtPValue)
        for (arm, w) in [("baseline", e.baseline), ("candidate", e.candidate)] {
            gauge("canary_window_reward", "Mean per-request reward in the last window, by arm", labels: [("arm", arm)], w.reward ?? .nan)
            gauge("canary_window_latency_p95", unit: "milliseconds", "p95 latency in the last window, by arm", labels: [("arm", arm)],
                  w.latencyP95Milliseconds ?? .nan)
            gauge("canary_window_faithfulness", "Mean faithfulness in the last window, by arm", labels: [("arm", arm)], w.faithfulness ?? .nan)
            gauge("canary_window_relevancy", "Mean relevancy in the last window, by arm", labels: [("arm", arm)], w.relevancy ?? .nan)
            gauge("canary_window_error_rate", "Error rate in the last window, by arm", labels: [("arm", arm)], w.errorRate)
        }
    }

    public func exposition() -> String { registry.emitToString() }

    /// `GET /metrics` on `router`.
    func expose<Context: RequestContext>(on router: Router<Context>) {
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: self.exposition())))
        }
    }
}

/// Counts every request and its latency by endpoint, status and arm; `arm` names who chose a
/// request's settings, from the request and the response's headers (nil: not a `/query`).
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics
    let arm: @Sendable (Request, HTTPFields?) -> String?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            metrics.recordRequest(path: request.uri.path, status: response.status.code, arm: arm(request, response.headers), seconds: Self.seconds(since: start))
            return response
        } catch let error as HTTPResponseError {
            metrics.recordRequest(path: request.uri.path, status: error.status.code, arm: arm(request, nil), seconds: Self.seconds(since: start))
            throw error
        } catch {
            metrics.recordRequest(path: request.uri.path, status: 500, arm: arm(request, nil), seconds: Self.seconds(since: start))
            throw error
        }
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}
