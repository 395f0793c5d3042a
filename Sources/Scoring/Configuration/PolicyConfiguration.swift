import ConfigurationFiles
import Foundation
import TunerPolicy

/// The policy configuration (`configs/rl/policy.defaults.yaml`): reward weights, penalties, hard
/// gates and the bounds of the action space. Defaults are the tuner specification's.
public struct PolicyConfiguration: Sendable, Equatable {
    /// r = α·F + β·R − γ·L̂ − δ·Ĉ − λ·P with L̂ = min(p95 / T_latency, cap), Ĉ = min(cost / C_ref, cap).
    public struct RewardWeights: Sendable, Equatable {
        public var alpha = 0.5
        public var beta = 0.5
        public var gamma = 0.2
        public var delta = 0.2
        public var lambda = 1.0
        /// T_latency, milliseconds of p95 latency that count as 1.
        public var latencyTargetMilliseconds = 500.0
        /// C_ref, US dollars per query that count as 1.
        public var costReferenceUSD = 0.002
        /// The cap on L̂ and Ĉ.
        public var normalizedCap = 2.0
        public init() {}

        /// One query's reward: the specification's reward without its batch-level terms (p95 and
        /// the penalties), α·F + β·R − γ·min(latency/T, cap) − δ·min(cost/C, cap) — what paired
        /// comparisons over queries and logged decisions use.
        public func queryReward(faithfulness: Double, relevancy: Double, latencyMilliseconds: Double, costUSD: Double) -> Double {
            alpha * faithfulness + beta * relevancy
                - gamma * min(latencyMilliseconds / latencyTargetMilliseconds, normalizedCap)
                - delta * min(costUSD / costReferenceUSD, normalizedCap)
        }
    }

    /// P = gate_breach·(number of gates breached) + policy_violation·(share of answers with a violation)
    ///   + instability·max(0, spread − band), spread the standard deviation of the per-query
    ///   quality (α·F_i + β·R_i)/(α + β) over the batch.
    public struct Penalties: Sendable, Equatable {
        public var gateBreach = 1.0
        public var policyViolation = 1.0
        public var instability = 1.0
        public var instabilityBand = 0.45
        public init() {}
    }

    /// Hard gates: a configuration that breaches any of them is never promoted.
    public struct GateThresholds: Sendable, Equatable, Codable {
        public var faithfulnessMin = 0.75
        public var relevancyMin = 0.75
        public var latencyP95MaxMilliseconds = 500.0
        /// Error rate must be strictly below this.
        public var errorRateMax = 0.01
        public init() {}

        public static let fieldNames = ["faithfulness_min", "relevancy_min", "latency_p95_max_ms", "error_rate_max"]

        /// The thresholds with `overrides` (field name → value, e.g. from a dataset manifest)
        /// applied, each validated.
        public func applying(_ overrides: [String: Double], source: String) throws -> GateThresholds {
            var result = self
            for (name, value) in overrides.sorted(by: { $0.key < $1.key }) {
                func check(_ range: ClosedRange<Double>) throws -> Double {
                    guard value.isFinite, range.contains(value) else {
                        throw ConfigurationError(file: source, field: "gates.\(name)", reason: "is \(value), allowed range \(YAMLFields.describe(range))")
                    }
                    return value
                }
                switch name {
                case "faithfulness_min": result.faithfulnessMin = try check(0...1)
                case "relevancy_min": result.relevancyMin = try check(0...1)
                case "latency_p95_max_ms": result.latencyP95MaxMilliseconds = try check(1...600_000)
                case "error_rate_max": result.errorRateMax = try check(0...1)
                default:
                    throw ConfigurationError(file: source, field: "gates.\(name)", reason: "is not a gate (known: \(Self.fieldNames.joined(separator: ", ")))")
                }
            }
            return result
        }

        enum CodingKeys: String, CodingKey {
            case faithfulnessMin = "faithfulness_min"
            case relevancyMin = "relevancy_min"
            case latencyP95MaxMilliseconds = "latency_p95_max_ms"
            case errorRateMax = "error_rate_max"
        }
    }

    /// How the policy's k head spreads probability over top-k values.
    public enum TopKDistribution: String, Sendable, Equatable, CaseIterable {
        /// A log-normal evaluated at the integers: a mean of log k and a learned width, so
        /// neighbouring k share what is learnt.
        case logNormal = "lognormal"
        /// A softmax with one logit per k.
        case softmax
    }

    /// The action space: which choices the tuner may make.
    public struct ActionBounds: Sendable, Equatable {
        public var variants: [String]
        public var templates: [String]
        public var topK: ClosedRange<Int> = 3...32
        public var topKGrid = [3, 5, 8, 10, 16, 24, 32]
        public var topKDistribution = TopKDistribution.logNormal
        public var fusionWeight: ClosedRange<Double> = 0...1
        public var fusionWeightGrid = [0, 0.25, 0.5, 0.75, 1]
            public init(variants: [String], templates: [String]) {
            self.variants = variants
            self.templates = templates
        }
    }

    public var reward = RewardWeights()
    public var penalties = Penalties()
    public var gates = GateThresholds()
    /// The built-in pipeline's bounds: what offline tuning chooses from.
    public var actions: ActionBounds
    /// The knobs of a service of the team's own, where the file declares other knobs than the
    /// built-in pipeline's: what a search through the evaluator protocol chooses from.
    public var serviceKnobs: KnobDeclaration?
    /// The gate fields a loaded file set (the rest are the specification's defaults): what a
    /// report credits to the file.
    public var declaredGates: [String] = []

    public init(actions: ActionBounds) { self.actions = actions }

    /// Loads and validates `url`; `variants` and `templates` are the names the pipeline knows.
    public static func load(from url: URL, variants: [String], templates: [String]) throws -> PolicyConfiguration {
        try parse(YAMLFields.load(url), variants: variants, templates: templates)
    }

    public static func parse(_ yaml: YAMLFields, variants: [String], templates: [String]) throws -> PolicyConfiguration {
        var c = PolicyConfiguration(actions: ActionBounds(variants: variants, templates: templates))
        // An empty file is more likely a mistake than a wish for every default.
        guard !yaml.keys.isEmpty else {
            throw ConfigurationError(file: yaml.file, field: "", reason: "is empty (delete it, or leave out --policy, to use the built-in defaults)")
        }
        try yaml.onlyAllow(["version", "reward", "penalties", "gates", "knobs"])
        _ = try yaml.int("version", in: 1...1, default: 1)
        if let r = try yaml.section("reward") {
            try r.onlyAllow(["alpha", "beta", "gamma", "delta", "lambda", "latency_target_ms", "cost_reference_usd", "normalized_cap"])
            c.reward.alpha = try r.double("alpha", in: 0...10, default: c.reward.alpha)
            c.reward.beta = try r.double("beta", in: 0...10, default: c.reward.beta)
            c.reward.gamma = try r.double("gamma", in: 0...10, default: c.reward.gamma)
            c.reward.delta = try r.double("delta", in: 0...10, default: c.reward.delta)
            c.reward.lambda = try r.double("lambda", in: 0...100, default: c.reward.lambda)
            c.reward.latencyTargetMilliseconds = try r.double("latency_target_ms", in: 1...600_000, default: c.reward.latencyTargetMilliseconds)
            c.reward.costReferenceUSD = try r.double("cost_reference_usd", in: 1e-9...1_000, default: c.reward.costReferenceUSD)
            c.reward.normalizedCap = try r.double("normalized_cap", in: 1...100, default: c.reward.normalizedCap)
        }
        if let p = try yaml.section("penalties") {
            try p.onlyAllow(["gate_breach", "policy_violation", "instability", "instability_band"])
            c.penalties.gateBreach = try p.double("gate_breach", in: 0...100, default: c.penalties.gateBreach)
            c.penalties.policyViolation = try p.double("policy_violation", in: 0...100, default: c.penalties.policyViolation)
            c.penalties.instability = try p.double("instability", in: 0...100, default: c.penalties.instability)
            c.penalties.instabilityBand = try p.double("instability_band", in: 0...1, default: c.penalties.instabilityBand)
        }
        if let g = try yaml.section("gates") {
            try g.onlyAllow(Set(GateThresholds.fieldNames))
            c.declaredGates = GateThresholds.fieldNames.filter(g.keys.contains)
            c.gates.faithfulnessMin = try g.double("faithfulness_min", in: 0...1, default: c.gates.faithfulnessMin)
            c.gates.relevancyMin = try g.double("relevancy_min", in: 0...1, default: c.gates.relevancyMin)
            c.gates.latencyP95MaxMilliseconds = try g.double("latency_p95_max_ms", in: 1...600_000, default: c.gates.latencyP95MaxMilliseconds)
            c.gates.errorRateMax = try g.double("error_rate_max", in: 0...1, default: c.gates.errorRateMax)
        }
        if let items = try yaml.mappings("knobs") {
            guard !items.isEmpty else { throw yaml.refusal("knobs", "is empty: declare at least one knob") }
            let declaration = try KnobsSection.parse(items)
            if declaration.names == Self.pipelineKnobNames {
                c.actions = try pipelineBounds(declaration, items: items, variants: variants, templates: templates)
            } else {
                c.serviceKnobs = declaration
            }
        }
        return c
    }
}
