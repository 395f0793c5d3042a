/// What a batch of queries measured, the reward's inputs.
public struct BatchMeasurement: Sendable, Equatable {
    public var faithfulness: Double
    public var relevancy: Double
    public var latencyP95Milliseconds: Double
    /// Mean cost per query, US dollars.
    public var costUSD: Double
    public var errorRate: Double
    /// Share of answers flagged by the policy-violation detector.
    public var violationRate: Double
    /// Standard deviation over the batch of the per-query quality (α·F_i + β·R_i)/(α + β).
    public var qualitySpread: Double

    public init(
        faithfulness: Double, relevancy: Double, latencyP95Milliseconds: Double, costUSD: Double,
        errorRate: Double, violationRate: Double, qualitySpread: Double
    ) {
        self.faithfulness = faithfulness
        self.relevancy = relevancy
        self.latencyP95Milliseconds = latencyP95Milliseconds
        self.costUSD = costUSD
        self.errorRate = errorRate
        self.violationRate = violationRate
        self.qualitySpread = qualitySpread
    }
}

/// One hard gate's verdict.
public struct GateResult: Sendable, Equatable, Codable {
    public var name: String
    public var value: Double
    public var threshold: Double
    public var passed: Bool

    /// How far the value misses the threshold, relative to it: (threshold − value)/threshold for a
    /// floor, (value − threshold)/threshold for a ceiling; 0 when the gate holds. Comparable across
    /// gates, so a category no configuration can satisfy is served the one that misses least.
    public var relativeShortfall: Double {
        passed ? 0 : abs(value - threshold) / max(abs(threshold), 1e-9)
    }

    /// A floor (faithfulness, relevancy: `_min`) rather than a ceiling (latency, error rate).
    public var isFloor: Bool { name.hasSuffix("_min") }
}

/// The reward of a batch and how it was made up.
public struct RewardBreakdown: Sendable, Equatable {
    public var reward: Double
    public var latencyNormalized: Double
    public var costNormalized: Double
    public var penalty: Double
    public var gates: [GateResult]
    public var gatesPassed: Bool { gates.allSatisfy(\.passed) }

    public init(reward: Double, latencyNormalized: Double, costNormalized: Double, penalty: Double, gates: [GateResult]) {
        self.reward = reward
        self.latencyNormalized = latencyNormalized
        self.costNormalized = costNormalized
        self.penalty = penalty
        self.gates = gates
    }
}

/// r = α·F + β·R − γ·L̂ − δ·Ĉ − λ·P, exactly as the tuner's specification states, with
/// L̂ = min(p95 / T_latency, cap), Ĉ = min(cost / C_ref, cap) and P from `Penalties`.
public struct RewardFunction: Sendable, Equatable {
    public var weights: PolicyConfiguration.RewardWeights
    public var penalties: PolicyConfiguration.Penalties
    public var gates: PolicyConfiguration.GateThresholds
    /// Thresholds that replace `gates` for the queries of a category: a mixed-domain union keeps
    /// each dataset's own.
    public var categoryGates: [String: PolicyConfiguration.GateThresholds]

    public init(
        _ configuration: PolicyConfiguration, gates: PolicyConfiguration.GateThresholds? = nil,
        categoryGates: [String: PolicyConfiguration.GateThresholds] = [:]
    ) {
        weights = configuration.reward
        penalties = configuration.penalties
        self.gates = gates ?? configuration.gates
        self.categoryGates = categoryGates
    }

    /// The reward with the gates in force for `category`.
    public func forCategory(_ category: String) -> RewardFunction {
        var r = self
        if let own = categoryGates[category] { r.gates = own }
        return r
    }

    /// Quality of one query, the per-query term whose spread is the instability measure.
    public func quality(faithfulness: Double, relevancy: Double) -> Double {
        let total = weights.alpha + weights.beta
        return total > 0 ? (weights.alpha * faithfulness + weights.beta * relevancy) / total : 0
    }

    public func gateResults(_ m: BatchMeasurement) -> [GateResult] {
        [
            GateResult(name: "faithfulness_min", value: m.faithfulness, threshold: gates.faithfulnessMin, passed: m.faithfulness >= gates.faithfulnessMin),
            GateResult(name: "relevancy_min", value: m.relevancy, threshold: gates.relevancyMin, passed: m.relevancy >= gates.relevancyMin),
            GateResult(name: "latency_p95_max_ms", value: m.latencyP95Milliseconds, threshold: gates.latencyP95MaxMilliseconds,
                       passed: m.latencyP95Milliseconds <= gates.latencyP95MaxMilliseconds),
            GateResult(name: "error_rate_max", value: m.errorRate, threshold: gates.errorRateMax, passed: m.errorRate < gates.errorRateMax),
        ]
    }

    public func evaluate(_ m: BatchMeasurement) -> RewardBreakdown {
        let gateResults = gateResults(m)
        let latency = min(m.latencyP95Milliseconds / weights.latencyTargetMilliseconds, weights.normalizedCap)
        let cost = min(m.costUSD / weights.costReferenceUSD, weights.normalizedCap)
        // Each breached gate counts: with a single any-breach term, a configuration that must
        // breach one gate (a category where no setting reaches the relevancy floor) would be free
        // to breach the others too.
        let breaches = Double(gateResults.filter { !$0.passed }.count)
        let penalty = penalties.gateBreach * breaches
            + penalties.policyViolation * m.violationRate
            + penalties.instability * max(0, m.qualitySpread - penalties.instabilityBand)
        let reward = weights.alpha * m.faithfulness + weights.beta * m.relevancy
            - weights.gamma * latency - weights.delta * cost - weights.lambda * penalty
        return RewardBreakdown(reward: reward, latencyNormalized: latency, costNormalized: cost, penalty: penalty, gates: gateResults)
    }
}
