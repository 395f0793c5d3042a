import NumericCore

/// The retrieval and generation settings a policy chooses for one request: what a RAG service
/// applies. Field names in JSON are the policy configuration's (`fusion_weight`).
public struct RAGSettings: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Variant: String, Sendable, CaseIterable, Codable {
        /// BM25 alone.
        case bm25
        /// Dense (embedding or LSA) retrieval alone.
        case dense
        /// Convex combination of min–max normalised BM25 and dense scores, weight w on dense.
        case hybrid
        /// Weighted reciprocal-rank fusion of the two rankings, weight w on dense.
        case rrf

        public var usesFusionWeight: Bool { self == .hybrid || self == .rrf }
    }

    /// How retrieved passages become the prompt (docs/rag-pipeline.md describes each).
    public enum Template: String, Sendable, CaseIterable, Codable {
        case ranked, truncated, budgeted, sandwich
    }

    public var variant: Variant
    public var k: Int
    public var rerank: Bool
    public var fusionWeight: Double
    public var template: Template

    public init(variant: Variant = .hybrid, k: Int = 10, rerank: Bool = false, fusionWeight: Double = 0.5, template: Template = .ranked) {
        self.variant = variant
        self.k = k
        self.rerank = rerank
        self.fusionWeight = fusionWeight
        self.template = template
    }

    public var description: String {
        var parts = ["variant=\(variant.rawValue)", "k=\(k)", "rerank=\(rerank)"]
        if variant.usesFusionWeight { parts.append("w=\(fusionWeight)") }
        parts.append("template=\(template.rawValue)")
        return parts.joined(separator: " ")
    }

    enum CodingKeys: String, CodingKey {
        case variant, k, rerank, template
        case fusionWeight = "fusion_weight"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(variant: try c.decode(Variant.self, forKey: .variant), k: try c.decodeWholeNumber(Int.self, forKey: .k),
                  rerank: try c.decode(Bool.self, forKey: .rerank), fusionWeight: try c.decode(Double.self, forKey: .fusionWeight),
                  template: try c.decode(Template.self, forKey: .template))
    }
}
