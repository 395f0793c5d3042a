import Scoring

/// The hard gates as the loop checks them on observed requests: the analyser on a window, the A/B
/// tests on an arm, the monitor on a deployment. A measure that is missing breaches nothing.
enum GateCheck {
    static func breaches(faithfulness: Double?, relevancy: Double?, latencyP95Milliseconds: Double?, errorRate: Double,
                         gates: PolicyConfiguration.GateThresholds) -> [String] {
        var breaches: [String] = []
        if let f = faithfulness, f < gates.faithfulnessMin { breaches.append(String(format: "faithfulness %.3f < %.3f", f, gates.faithfulnessMin)) }
        if let r = relevancy, r < gates.relevancyMin { breaches.append(String(format: "relevancy %.3f < %.3f", r, gates.relevancyMin)) }
        if let p95 = latencyP95Milliseconds, p95 > gates.latencyP95MaxMilliseconds {
            breaches.append(String(format: "p95 latency %.0f ms > %.0f ms", p95, gates.latencyP95MaxMilliseconds))
        }
        if errorRate >= gates.errorRateMax { breaches.append(String(format: "error rate %.3f ≥ %.3f", errorRate, gates.errorRateMax)) }
        return breaches
    }
}
