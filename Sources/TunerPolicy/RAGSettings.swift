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

extension RAGSettings {
    /// The settings as a configuration of the built-in pipeline's knobs.
    public var configuration: Configuration {
        Configuration([
            "variant": .text(variant.rawValue), "k": .integer(k), "rerank": .flag(rerank), "fusion_weight": .number(fusionWeight),
            "template": .text(template.rawValue),
        ])
    }

    /// The settings a configuration of the built-in pipeline's knobs names; a knob missing or of
    /// another type is named.
    public init(_ c: Configuration) throws(KnobProblem) {
        func value<T>(_ name: String, _ read: (KnobValue) -> T?) throws(KnobProblem) -> T {
            guard let v = c[name] else { throw KnobProblem(knob: name, reason: "is missing (the built-in pipeline's knobs are variant, k, rerank, fusion_weight, template)") }
            guard let t = read(v) else { throw KnobProblem(knob: name, reason: "is \(v), which the built-in pipeline cannot apply") }
            return t
        }
        self.init(
            variant: try value("variant") { if case let .text(s) = $0 { Variant(rawValue: s) } else { nil } },
            k: try value("k") { if case let .integer(i) = $0 { i } else { nil } },
            rerank: try value("rerank") { if case let .flag(b) = $0 { b } else { nil } },
            fusionWeight: try value("fusion_weight") { $0.real },
            template: try value("template") { if case let .text(s) = $0 { Template(rawValue: s) } else { nil } })
    }
}
