/// The tuner's action space read as RAG settings: five heads in order — `variant`
/// (categorical), `k` (integer range), `rerank` (Bernoulli), `fusion_weight` (continuous) and
/// `template` (categorical) — with the choices a policy configuration allows.
public struct RAGActionLayout: Sendable, Hashable {
    public let variants: [RAGSettings.Variant]
    public let kRange: ClosedRange<Int>
    public let kDistribution: KDistribution
    public let fusionRange: ClosedRange<Double>
    public let templates: [RAGSettings.Template]

    /// How the k head draws its integer.
    public enum KDistribution: String, Sendable, Hashable, CaseIterable {
        /// A log-normal over the range (``ActionHead/Kind/discretisedLogNormal(lower:upper:)``):
        /// what is learnt about one k moves its neighbours.
        case logNormal = "lognormal"
        /// A softmax with one logit per k (``ActionHead/Kind/discrete(lower:upper:)``).
        case softmax
    }

    public enum LayoutError: Error, CustomStringConvertible {
        case notRAG(reason: String)
        public var description: String {
            switch self {
            case let .notRAG(reason): "not a RAG tuning action space: \(reason)"
            }
        }
    }

    public init(variants: [RAGSettings.Variant], kRange: ClosedRange<Int>, kDistribution: KDistribution = .logNormal,
                fusionRange: ClosedRange<Double>, templates: [RAGSettings.Template]) {
        precondition(variants.count >= 2 && templates.count >= 2, "a RAG action space needs ≥ 2 variants and ≥ 2 templates")
        self.variants = variants
        self.kRange = kRange
        self.kDistribution = kDistribution
        self.fusionRange = fusionRange
        self.templates = templates
    }

    /// Reads the layout back from a checkpoint's action space, refusing any other shape.
    public init(_ space: ActionSpace) throws {
        let names = space.heads.map(\.name)
        guard names == ["variant", "k", "rerank", "fusion_weight", "template"] else {
            throw LayoutError.notRAG(reason: "heads are \(names), expected [variant, k, rerank, fusion_weight, template]")
        }
        let k: (range: ClosedRange<Int>, distribution: KDistribution)? = switch space.heads[1].kind {
        case let .discretisedLogNormal(lower, upper): (lower...upper, .logNormal)
        case let .discrete(lower, upper): (lower...upper, .softmax)
        default: nil
        }
        guard case let .categorical(variantNames) = space.heads[0].kind, let k,
              case .bernoulli = space.heads[2].kind,
              case let .continuous(fusionLower, fusionUpper) = space.heads[3].kind,
              case let .categorical(templateNames) = space.heads[4].kind
        else { throw LayoutError.notRAG(reason: "head kinds are not categorical, integer, Bernoulli, continuous, categorical") }
        let variants = variantNames.compactMap(RAGSettings.Variant.init(rawValue:))
        let templates = templateNames.compactMap(RAGSettings.Template.init(rawValue:))
        guard variants.count == variantNames.count else {
            throw LayoutError.notRAG(reason: "unknown retriever variant in \(variantNames); known: \(RAGSettings.Variant.allCases.map(\.rawValue))")
        }
        guard templates.count == templateNames.count else {
            throw LayoutError.notRAG(reason: "unknown prompt template in \(templateNames); known: \(RAGSettings.Template.allCases.map(\.rawValue))")
        }
        self.init(variants: variants, kRange: k.range, kDistribution: k.distribution, fusionRange: fusionLower...fusionUpper, templates: templates)
    }

    public var actionSpace: ActionSpace {
        ActionSpace([
            .categorical("variant", choices: variants.map(\.rawValue)),
            kDistribution == .logNormal ? .discretisedLogNormal("k", kRange) : .discrete("k", kRange),
            .bernoulli("rerank"),
            .continuous("fusion_weight", fusionRange),
            .categorical("template", choices: templates.map(\.rawValue)),
        ])
    }

    /// The settings a stored action names (head indices, the k index, 0/1, the unclipped
    /// fusion sample); the fusion weight is clipped into its range as the environment sees it.
    public func settings(stored a: UnsafePointer<Float>) -> RAGSettings {
        RAGSettings(
            variant: variants[Int(a[0])], k: kRange.lowerBound + Int(a[1]), rerank: a[2] > 0.5,
            fusionWeight: min(max(Double(a[3]), fusionRange.lowerBound), fusionRange.upperBound),
            template: templates[Int(a[4])])
    }

    /// The settings an action in environment values names (as PPO hands them to an environment).
    public func settings(environmentValues a: [Double]) -> RAGSettings {
        RAGSettings(
            variant: variants[Int(a[0])], k: min(max(Int(a[1]), kRange.lowerBound), kRange.upperBound),
            rerank: a[2] > 0.5, fusionWeight: a[3], template: templates[Int(a[4])])
    }

    /// The stored action that names `settings` (the inverse of ``settings(stored:)`` for settings
    /// inside the layout), for logging a decision a service made without the policy.
    public func storedAction(_ settings: RAGSettings) -> [Float]? {
        guard let v = variants.firstIndex(of: settings.variant), let t = templates.firstIndex(of: settings.template),
              kRange.contains(settings.k) else { return nil }
        return [Float(v), Float(settings.k - kRange.lowerBound), settings.rerank ? 1 : 0, Float(settings.fusionWeight), Float(t)]
    }
}
