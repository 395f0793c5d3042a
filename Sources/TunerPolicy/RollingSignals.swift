import Synchronization

/// A service's own recent behaviour, kept the way the policy's context wants it: answer quality
/// from feedback or a judge (exponentially smoothed, starting at `initialQuality`), latency
/// percentiles over the last `window` requests, smoothed cost per query, and the settings served
/// last. Thread-safe.
public final class RollingSignals: Sendable {
    private struct State {
        var quality: Double
        var cost = 0.0
        var latencies: [Double] = []
        var next = 0
        var current = RAGSettings()
    }

    private let state: Mutex<State>
    public let window: Int
    public let smoothing: Double

    public init(window: Int = 256, smoothing: Double = 0.1, initialQuality: Double = 0.75) {
        precondition(window >= 1 && smoothing > 0 && smoothing <= 1, "rolling signals: window ≥ 1, smoothing in (0, 1]")
        self.window = window
        self.smoothing = smoothing
        state = Mutex(State(quality: initialQuality))
    }

    /// The context of a request of `category` now.
    public func context(category: String, corpusDocuments: Int, corpusAgeDays: Double? = nil) -> PolicyContext {
        state.withLock { s in
            let sorted = s.latencies.sorted()
            func percentile(_ p: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(p * Double(sorted.count)))] }
            return PolicyContext(
                category: category, faithfulness: s.quality, relevancy: s.quality, latencyP50Milliseconds: percentile(0.5),
                latencyP95Milliseconds: percentile(0.95), costUSD: s.cost, current: s.current, corpusDocuments: corpusDocuments,
                corpusAgeDays: corpusAgeDays)
        }
    }

    /// Records a request served with `settings`; nil for a configuration of other knobs than
    /// the pipeline's, which a network's context cannot name (the last settings stay).
    public func served(_ settings: RAGSettings?, latencyMilliseconds: Double, costUSD: Double) {
        state.withLock { s in
            if s.latencies.count < window { s.latencies.append(latencyMilliseconds) } else { s.latencies[s.next] = latencyMilliseconds }
            s.next = (s.next + 1) % window
            s.cost = s.cost == 0 ? costUSD : (1 - smoothing) * s.cost + smoothing * costUSD
            if let settings { s.current = settings }
        }
    }

    /// Records a quality score in [0, 1] (feedback or a judge's).
    public func feedback(_ score: Double) {
        state.withLock { $0.quality = (1 - smoothing) * $0.quality + smoothing * score }
    }
}
