import Retrieval
import TunerPolicy

/// One setting of the knobs the tuner turns: the same type a service receives from the policy
/// module, so what the tuner evaluates is exactly what a service applies.
public typealias RAGConfiguration = RAGSettings

extension PromptTemplate {
    /// The retrieval module's template a setting names (the two enums share their raw values).
    public init(_ template: RAGSettings.Template) {
        self.init(rawValue: template.rawValue)!
    }
}
