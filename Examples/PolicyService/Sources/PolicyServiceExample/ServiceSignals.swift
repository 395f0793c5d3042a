import Synchronization
import TunerPolicy

/// The service's own recent behaviour, as the policy's context wants it: answer quality from
/// user feedback (exponentially smoothed), latency percentiles over the last requests, cost per
/// query, and the settings served last.
final class ServiceSignals: Sendable {
    private struct State {
        var quality = 0.75
        var cost = 0.0
        var latencies: [Double] = []
        var next = 0
        var current = RAGSettings()
    }

    private let state = Mutex(State())
    private let window = 256
    private let smoothing = 0.1

    func context(category: String, corpusDocuments: Int) -> PolicyContext {
        state.withLock { s in
            let sorted = s.latencies.sorted()
            func percentile(_ p: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(p * Double(sorted.count)))] }
            return PolicyContext(
                category: category, faithfulness: s.quality, relevancy: s.quality, latencyP50Milliseconds: percentile(0.5),
                latencyP95Milliseconds: percentile(0.95), costUSD: s.cost, current: s.current, corpusDocuments: corpusDocuments)
        }
    }

    func served(_ settings: RAGSettings, latencyMilliseconds: Double, costUSD: Double) {
        state.withLock { s in
            if s.latencies.count < window { s.latencies.append(latencyMilliseconds) } else { s.latencies[s.next] = latencyMilliseconds }
            s.next = (s.next + 1) % window
            s.cost = s.cost == 0 ? costUSD : (1 - smoothing) * s.cost + smoothing * costUSD
            s.current = settings
        }
    }

    func feedback(_ score: Double) {
        state.withLock { $0.quality = (1 - smoothing) * $0.quality + smoothing * score }
    }
}
