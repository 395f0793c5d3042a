import NumericCore
import Scoring
import Statistics
import Synchronization

/// Pairs production's answer to a query with the candidate's answer to the same query, in
/// windows of `windowSize` pairs: per window the paired reward difference (candidate −
/// production, per-query reward) with its bootstrap interval, and the candidate's gates; after
/// `windowsForVerdict` windows, a go/no-go for canary.
///
/// Go: every one of the last `windowsForVerdict` windows passed the candidate's gates, and over
/// their pairs together the difference's interval lies above −`tolerance` (the candidate is not
/// worse by more than the tolerance, at the interval's level). No-go names what failed.
public final class ShadowComparison: Sendable {
    /// One answer as the comparison needs it.
    public struct Observation: Sendable, Equatable, Codable {
        public var faithfulness: Double
        public var relevancy: Double
        public var latencyMilliseconds: Double
        public var costUSD: Double
        public var failed: Bool

        public init(faithfulness: Double, relevancy: Double, latencyMilliseconds: Double, costUSD: Double, failed: Bool = false) {
            self.faithfulness = faithfulness
            self.relevancy = relevancy
            self.latencyMilliseconds = latencyMilliseconds
            self.costUSD = costUSD
            self.failed = failed
        }

        /// The per-query reward (``PolicyConfiguration/RewardWeights/queryReward``), shadow's and
        /// canary's alike; a failed answer scores as no quality at its latency and cost.
        public func reward(_ weights: PolicyConfiguration.RewardWeights) -> Double {
            weights.queryReward(faithfulness: failed ? 0 : faithfulness, relevancy: failed ? 0 : relevancy,
                                latencyMilliseconds: latencyMilliseconds, costUSD: costUSD)
        }
    }

    public struct Window: Sendable, Codable, Equatable {
        public var index: Int
        public var pairs: Int
        public var productionReward: Double
        public var candidateReward: Double
        /// Candidate − production, mean per query, with its interval.
        public var difference: BootstrapInterval
        public var candidateGatesPassed: Bool
        public var candidateBreaches: [String]
        /// Mirrored queries dropped because the candidate's queue was full, during this window.
        public var dropped: Int
    }

    public struct Verdict: Sendable, Codable, Equatable {
        public var go: Bool
        public var windows: Int
        public var pooledDifference: BootstrapInterval?
        public var reason: String
    }

    public let reward: RewardFunction
    public let windowSize: Int
    public let windowsForVerdict: Int
    public let tolerance: Double
    public let bootstrap: Bootstrap

    private struct State {
        var production: [Observation] = []
        var candidate: [Observation] = []
        var windows: [Window] = []
        var pooled: [(production: Double, candidate: Double)] = []
        var dropped = 0
    }
    private let state = Mutex(State())

    public init(reward: RewardFunction, windowSize: Int = 100, windowsForVerdict: Int = 3, tolerance: Double = 0,
                bootstrap: Bootstrap = Bootstrap(resamples: 2_000)) {
        precondition(windowSize >= 2 && windowsForVerdict >= 1, "shadow: a window needs ≥ 2 pairs and a verdict ≥ 1 window")
        self.reward = reward
        self.windowSize = windowSize
        self.windowsForVerdict = windowsForVerdict
        self.tolerance = tolerance
        self.bootstrap = bootstrap
    }

    /// The per-query reward the comparison uses (``ShadowComparison/Observation/reward(_:)``).
    public func queryReward(_ o: Observation) -> Double { o.reward(reward.weights) }

    /// Records a mirrored query that was dropped before the candidate ran.
    public func recordDrop() { state.withLock { $0.dropped += 1 } }

    /// Adds one pair; returns the window it completed, if any.
    @discardableResult
    public func add(production: Observation, candidate: Observation) -> Window? {
        state.withLock { s in
            s.production.append(production)
            s.candidate.append(candidate)
            guard s.production.count == windowSize else { return nil }
            let p = s.production.map(queryReward)
            let c = s.candidate.map(queryReward)
            let latencies = s.candidate.map(\.latencyMilliseconds).sorted()
            let n = Double(windowSize)
            let measurement = BatchMeasurement(
                faithfulness: s.candidate.reduce(0) { $0 + $1.faithfulness } / n, relevancy: s.candidate.reduce(0) { $0 + $1.relevancy } / n,
                latencyP95Milliseconds: Percentile.sorted(latencies, 95), costUSD: s.candidate.reduce(0) { $0 + $1.costUSD } / n,
                errorRate: Double(s.candidate.filter(\.failed).count) / n, violationRate: 0, qualitySpread: 0)
            let gates = reward.gateResults(measurement)
            let window = Window(
                index: s.windows.count, pairs: windowSize, productionReward: p.reduce(0, +) / n, candidateReward: c.reduce(0, +) / n,
                difference: bootstrap.pairedDifference(c, p, method: .percentile), candidateGatesPassed: gates.allSatisfy(\.passed),
                candidateBreaches: gates.filter { !$0.passed }.map(\.name), dropped: s.dropped)
            s.windows.append(window)
            s.pooled += zip(p, c).map { ($0, $1) }
            s.production.removeAll(keepingCapacity: true)
            s.candidate.removeAll(keepingCapacity: true)
            s.dropped = 0
            return window
        }
    }

    public var windows: [Window] { state.withLock { $0.windows } }

    public var verdict: Verdict {
        state.withLock { s in
            guard s.windows.count >= windowsForVerdict else {
                return Verdict(go: false, windows: s.windows.count, pooledDifference: nil,
                               reason: "\(s.windows.count) of the \(windowsForVerdict) windows needed so far")
            }
            let recent = s.windows.suffix(windowsForVerdict)
            let pairs = s.pooled.suffix(windowsForVerdict * windowSize)
            let pooled = bootstrap.pairedDifference(pairs.map(\.candidate), pairs.map(\.production), method: .percentile)
            if let breach = recent.first(where: { !$0.candidateGatesPassed }) {
                return Verdict(go: false, windows: s.windows.count, pooledDifference: pooled,
                               reason: "window \(breach.index) breached the candidate's gates: \(breach.candidateBreaches.joined(separator: ", "))")
            }
            guard pooled.lower > -tolerance else {
                return Verdict(go: false, windows: s.windows.count, pooledDifference: pooled,
                               reason: String(format: "the paired difference's interval [%.4f, %.4f] reaches below −%.4f", pooled.lower, pooled.upper, tolerance))
            }
            return Verdict(go: true, windows: s.windows.count, pooledDifference: pooled,
                           reason: String(format: "gates held in %d windows; paired difference %.4f [%.4f, %.4f]", windowsForVerdict,
                                          pooled.estimate, pooled.lower, pooled.upper))
        }
    }
}
