import ConfigurationFiles
import Foundation
import Retrieval
import Scoring
import TunerPolicy

/// RAG settings written as YAML:
///
///     variant: hybrid      # bm25 | dense | hybrid | rrf
///     k: 10
///     rerank: true
///     fusion_weight: 0.5
///     template: ranked     # ranked | truncated | budgeted | sandwich
public enum RAGSettingsFile {
    public static func load(_ url: URL) throws -> RAGSettings {
        try parse(YAMLFields.load(url))
    }

    public static func parse(_ yaml: YAMLFields) throws -> RAGSettings {
        try yaml.onlyAllow(["variant", "k", "rerank", "fusion_weight", "template"])
        var c = RAGSettings()
        if let variant = try yaml.string("variant", allowed: EvaluationSetup.variantNames) {
            c.variant = RAGSettings.Variant(rawValue: variant)!
        }
        c.k = try yaml.int("k", in: 1...1_000, default: c.k)
        c.rerank = try yaml.bool("rerank", default: c.rerank)
        c.fusionWeight = try yaml.double("fusion_weight", in: 0...1, default: c.fusionWeight)
        if let template = try yaml.string("template", allowed: EvaluationSetup.templateNames) {
            c.template = RAGSettings.Template(rawValue: template)!
        }
        return c
    }
}
