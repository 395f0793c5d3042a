import ConfigurationFiles
import Foundation
import Scoring
import Tracking

/// The loop's meta-graph (configs/rsi/loop.yaml): which service, where its telemetry and records
/// live, and how each stage decides. Every field is validated on load; an error names the file,
/// the line and the field.
public struct RSIConfiguration: Sendable, Equatable {
    public enum Strategy: String, Sendable, Codable, CaseIterable {
        case direct, canary
        case blueGreen = "blue_green"
        case gradual
    }

    public var serviceID = "demo-rag"
    public var version = 1
    // Telemetry and the analyser.
    public var decisionLog = "rsi/decisions.jsonl"
    /// A request log (the `tuner train --log` format) analysed and replayed beside the decision log, if any.
    public var requestLog: String?
    public var windowSeconds = 24.0 * 3600
    public var sampleRate = 1.0
    // What the service serves and how it is scored.
    public var dataset = "datasets/demo"
    public var policy: String? = "configs/rl/policy.defaults.yaml"
    public var pipeline: String? = "configs/rag/pipeline.yaml"
    // Records.
    public var versionStore = "rsi/versions.sqlite"
    public var experienceStore = "rsi/experience.sqlite"
    // Hypotheses.
    public var maxHypotheses = 3
    public var hypothesisKinds = Hypothesis.Kind.allCases
    public var trainingSteps = 20_000
    public var seed: UInt64 = 1
    public var patternLearning = true
    // Validation.
    /// Settings no hypothesis may touch: a field ("template") or a category's field ("warranty.variant").
    public var protectedSettings: [String] = []
    /// Hypotheses at or below this risk are approved without a person; nil: every one waits.
    public var autoApproveMaxRisk: Hypothesis.Risk? = .medium
    // Testing.
    public var minimumGain = 0.01
    public var requireIntervalAboveZero = true
    public var maxLatencyP95Milliseconds: Double?
    public var maxCostUSD: Double?
    public var minimumPairs = 10
    /// A `tuner serve`-compatible `/query` endpoint to A/B test on as well (shadow), if any.
    public var shadowURL: URL?
    // Deployment.
    public var strategy = Strategy.canary
    public var autoDeploy = true
    public var canaryPercent = 10.0
    public var gradualSteps: [Double] = [10, 25, 50, 75, 100]
    public var holdSeconds = 60.0
    public var maxHoldSeconds = 300.0
    public var minimumSamples = 30
    /// A deployment regresses when its reward is below the baseline's by more than this, with
    /// the interval's upper end below −tolerance.
    public var regressionTolerance = 0.0

    public init() {}

    public static let settingFields = ["variant", "k", "rerank", "fusion_weight", "template"]
    static let risks = ["none"] + Hypothesis.Risk.allCases.map(\.rawValue)

    public static func load(_ url: URL) throws -> RSIConfiguration {
        let yaml = try YAMLFields.load(url)
        var c = RSIConfiguration()
        try yaml.onlyAllow(["service_id", "version", "telemetry", "service", "stores", "hypotheses", "validation", "testing", "deployment"])
        c.serviceID = try yaml.text("service_id") ?? c.serviceID
        c.version = try yaml.int("version", in: 1...1, default: 1)
        if let t = try yaml.section("telemetry") {
            try t.onlyAllow(["decision_log", "request_log", "window_seconds", "sample_rate"])
            c.decisionLog = try t.text("decision_log") ?? c.decisionLog
            c.requestLog = try t.text("request_log")
            c.windowSeconds = try t.double("window_seconds", in: 1...(366 * 86400), default: c.windowSeconds)
            c.sampleRate = try t.double("sample_rate", in: 0.001...1, default: c.sampleRate)
        }
        if let s = try yaml.section("service") {
            try s.onlyAllow(["dataset", "policy", "pipeline"])
            c.dataset = try s.text("dataset") ?? c.dataset
            c.policy = try s.text("policy") ?? c.policy
            c.pipeline = try s.text("pipeline") ?? c.pipeline
        }
        if let s = try yaml.section("stores") {
            try s.onlyAllow(["versions", "experience"])
            c.versionStore = try s.text("versions") ?? c.versionStore
            c.experienceStore = try s.text("experience") ?? c.experienceStore
        }
        if let h = try yaml.section("hypotheses") {
            try h.onlyAllow(["max_hypotheses", "types", "training_steps", "seed", "pattern_learning"])
            c.maxHypotheses = try h.int("max_hypotheses", in: 1...100, default: c.maxHypotheses)
            c.hypothesisKinds = try h.strings("types", default: c.hypothesisKinds.map(\.rawValue), allowed: Hypothesis.Kind.allCases.map(\.rawValue))
                .compactMap(Hypothesis.Kind.init(rawValue:))
            c.trainingSteps = try h.int("training_steps", in: 1_000...10_000_000, default: c.trainingSteps)
            c.seed = UInt64(try h.int("seed", in: 0...Int.max, default: Int(c.seed)))
            c.patternLearning = try h.bool("pattern_learning", default: c.patternLearning)
        }
        if let v = try yaml.section("validation") {
            try v.onlyAllow(["protected", "auto_approve_max_risk"])
            c.protectedSettings = try v.list("protected", default: [], allowed: "a field (\(settingFields.joined(separator: ", "))) or CATEGORY.FIELD",
                                             allowsEmpty: true) { node in
                guard let text = node.string, let field = text.split(separator: ".").last.map(String.init),
                      settingFields.contains(field), text.split(separator: ".").count <= 2 else { return nil }
                return text
            }
            if let risk = try v.string("auto_approve_max_risk", allowed: risks) { c.autoApproveMaxRisk = Hypothesis.Risk(rawValue: risk) }
        }
        if let t = try yaml.section("testing") {
            try t.onlyAllow(["min_gain", "require_interval_above_zero", "max_latency_p95_ms", "max_cost_usd", "min_pairs", "shadow_url"])
            c.minimumGain = try t.double("min_gain", in: 0...10, default: c.minimumGain)
            c.requireIntervalAboveZero = try t.bool("require_interval_above_zero", default: c.requireIntervalAboveZero)
            if t.keys.contains("max_latency_p95_ms") { c.maxLatencyP95Milliseconds = try t.double("max_latency_p95_ms", in: 1...600_000, default: 0) }
            if t.keys.contains("max_cost_usd") { c.maxCostUSD = try t.double("max_cost_usd", in: 0...1_000, default: 0) }
            c.minimumPairs = try t.int("min_pairs", in: 2...1_000_000, default: c.minimumPairs)
            if let url = try t.text("shadow_url") {
                guard let parsed = URL(string: url), parsed.scheme == "http" || parsed.scheme == "https" else {
                    throw ConfigurationError(file: yaml.file, field: "testing.shadow_url", reason: "is not an http(s) URL")
                }
                c.shadowURL = parsed
            }
        }
        if let d = try yaml.section("deployment") {
            try d.onlyAllow(["strategy", "auto_deploy", "canary_percent", "gradual_steps", "hold_seconds", "max_hold_seconds",
                             "min_samples", "regression_tolerance"])
            c.strategy = try d.string("strategy", allowed: Strategy.allCases.map(\.rawValue)).flatMap(Strategy.init(rawValue:)) ?? c.strategy
            c.autoDeploy = try d.bool("auto_deploy", default: c.autoDeploy)
            c.canaryPercent = try d.double("canary_percent", in: 0.01...99.99, default: c.canaryPercent)
            c.gradualSteps = try d.list("gradual_steps", default: c.gradualSteps, allowed: "percentages in (0, 100], rising, ending at 100") { node in
                node.double.flatMap { (0.01...100).contains($0) ? $0 : nil }
            }
            guard c.gradualSteps == c.gradualSteps.sorted(), Set(c.gradualSteps).count == c.gradualSteps.count, c.gradualSteps.last == 100 else {
                throw ConfigurationError(file: url.path, field: "deployment.gradual_steps", reason: "must rise strictly and end at 100")
            }
            c.holdSeconds = try d.double("hold_seconds", in: 0...86400, default: c.holdSeconds)
            c.maxHoldSeconds = try d.double("max_hold_seconds", in: c.holdSeconds...(7 * 86400), default: max(c.maxHoldSeconds, c.holdSeconds))
            c.minimumSamples = try d.int("min_samples", in: 2...10_000_000, default: c.minimumSamples)
            c.regressionTolerance = try d.double("regression_tolerance", in: 0...10, default: c.regressionTolerance)
        }
        return c
    }

    /// Whether `field` of `category`'s settings is protected.
    public func isProtected(_ field: String, category: String) -> Bool {
        protectedSettings.contains(field) || protectedSettings.contains("\(category).\(field)")
    }
}
