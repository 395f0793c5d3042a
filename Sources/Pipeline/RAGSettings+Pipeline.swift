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
