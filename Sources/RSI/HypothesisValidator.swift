import Scoring
import Tracking
import TunerPolicy

/// Validation: a hypothesis must be of an allowed kind, touch no protected setting and stay
/// within the policy configuration's action bounds; then its risk decides whether it is approved
/// at once or waits for a person (`tuner rsi review`).
public struct HypothesisValidator: Sendable {
    public let configuration: RSIConfiguration
    public let bounds: PolicyConfiguration.ActionBounds

    public init(configuration: RSIConfiguration, bounds: PolicyConfiguration.ActionBounds) {
        self.configuration = configuration
        self.bounds = bounds
    }

    public struct Validation: Sendable, Codable, Equatable {
        public var status: HypothesisRecord.Status
        public var reasons: [String]
    }

    /// The settings fields that differ between `a` and `b`.
    static func changedFields(_ a: RAGSettings, _ b: RAGSettings) -> [String] {
        var fields: [String] = []
        if a.variant != b.variant { fields.append("variant") }
        if a.k != b.k { fields.append("k") }
        if a.rerank != b.rerank { fields.append("rerank") }
        if a.fusionWeight != b.fusionWeight { fields.append("fusion_weight") }
        if a.template != b.template { fields.append("template") }
        return fields
    }

    public func validate(_ h: Hypothesis) -> Validation {
        var problems: [String] = []
        if !configuration.hypothesisKinds.contains(h.kind) { problems.append("kind \(h.kind.rawValue) is not among the allowed hypothesis types") }
        for field in Self.changedFields(h.from, h.to) where configuration.isProtected(field, category: h.category) {
            problems.append("changes protected setting \(field) of category \(h.category)")
        }
        if !bounds.variants.contains(h.to.variant.rawValue) { problems.append("variant \(h.to.variant.rawValue) is outside the allowed \(bounds.variants)") }
        if !bounds.templates.contains(h.to.template.rawValue) { problems.append("template \(h.to.template.rawValue) is outside the allowed \(bounds.templates)") }
        if !bounds.topK.contains(h.to.k) { problems.append("k \(h.to.k) is outside \(bounds.topK.lowerBound)...\(bounds.topK.upperBound)") }
        if !bounds.fusionWeight.contains(h.to.fusionWeight) { problems.append("fusion weight \(h.to.fusionWeight) is outside \(bounds.fusionWeight)") }
        if !problems.isEmpty { return Validation(status: .rejected, reasons: problems) }
        if let threshold = configuration.autoApproveMaxRisk, h.risk <= threshold {
            return Validation(status: .approved, reasons: ["\(h.risk.rawValue) risk, at or below the auto-approve threshold (\(threshold.rawValue))"])
        }
        let threshold = configuration.autoApproveMaxRisk.map { "above the auto-approve threshold (\($0.rawValue))" } ?? "and auto-approval is off"
        return Validation(status: .pendingReview, reasons: ["\(h.risk.rawValue) risk, \(threshold): waits for review (tuner rsi review)"])
    }
}
