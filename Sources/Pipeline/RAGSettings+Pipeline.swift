import Retrieval
import Scoring
import TunerPolicy

extension PromptTemplate {
    /// The retrieval module's template a setting names (the two enums share their raw values).
    public init(_ template: RAGSettings.Template) {
        self.init(rawValue: template.rawValue)!
    }
}

extension RAGActionLayout {
    /// The action heads over the choices a policy configuration allows.
    public init(_ bounds: PolicyConfiguration.ActionBounds) {
        self.init(
            variants: bounds.variants.compactMap(RAGSettings.Variant.init(rawValue:)), kRange: bounds.topK,
            kDistribution: KDistribution(rawValue: bounds.topKDistribution.rawValue)!, fusionRange: bounds.fusionWeight, templates: bounds.templates.compactMap(RAGSettings.Template.init(rawValue:)))
    }
}

extension PolicyConfiguration.ActionBounds {
    /// Why settings fall outside these bounds (naming the field), or nil; `rerankAvailable`:
    /// whether the dataset has a re-ranker to turn on.
    public func problem(with c: RAGSettings, rerankAvailable: Bool) -> String? {
        if !variants.contains(c.variant.rawValue) { return "variant '\(c.variant.rawValue)' is not allowed; allowed: \(variants.joined(separator: ", "))" }
        if !templates.contains(c.template.rawValue) { return "template '\(c.template.rawValue)' is not allowed; allowed: \(templates.joined(separator: ", "))" }
        if !topK.contains(c.k) { return "k is \(c.k), expected \(topK.lowerBound)...\(topK.upperBound)" }
        if !(c.fusionWeight.isFinite && fusionWeight.contains(c.fusionWeight)) {
            return "fusion_weight is \(c.fusionWeight), expected \(fusionWeight.lowerBound)...\(fusionWeight.upperBound)"
        }
        if c.rerank && !rerankAvailable { return "rerank is true, but the dataset has no train split to learn a re-ranker from" }
        return nil
    }
}
