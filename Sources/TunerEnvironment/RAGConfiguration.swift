import Retrieval

/// One setting of the knobs the tuner turns.
public struct RAGConfiguration: Sendable, Hashable, Codable, CustomStringConvertible {
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

    public var variant: Variant
    public var k: Int
    public var rerank: Bool
    public var fusionWeight: Double
    public var template: PromptTemplate

    public init(variant: Variant = .hybrid, k: Int = 10, rerank: Bool = false, fusionWeight: Double = 0.5, template: PromptTemplate = .ranked) {
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
}
