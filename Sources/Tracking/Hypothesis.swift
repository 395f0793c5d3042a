import Foundation
import Statistics
import TunerPolicy

/// One proposed change of the production configuration for one category, of one kind, with the
/// evidence for it: what the tuner's retrained policy chose there and what the change is expected
/// to do to the per-query reward on the recent window's requests.
public struct Hypothesis: Sendable, Codable, Equatable, Identifiable {
    /// What a hypothesis changes; each kind touches its own settings, so hypotheses of different
    /// kinds for one category compose.
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// k, and the fusion weight where the retriever fuses.
        case parameterTuning = "parameter_tuning"
        /// The retriever variant.
        case retrieverReplacement = "retriever_replacement"
        /// Re-ranking on or off.
        case rerankToggle = "rerank_toggle"
        /// The prompt template.
        case templateChange = "template_change"

        /// `current` with this kind's settings taken from `proposed`.
        public func apply(_ proposed: RAGSettings, to current: RAGSettings) -> RAGSettings {
            var next = current
            switch self {
            case .parameterTuning:
                next.k = proposed.k
                if current.variant.usesFusionWeight { next.fusionWeight = proposed.fusionWeight }
            case .retrieverReplacement:
                next.variant = proposed.variant
                if proposed.variant.usesFusionWeight && !current.variant.usesFusionWeight { next.fusionWeight = proposed.fusionWeight }
            case .rerankToggle: next.rerank = proposed.rerank
            case .templateChange: next.template = proposed.template
            }
            return next
        }

        /// The settings fields this kind may change (what protected settings are matched against).
        public var fields: [String] {
            switch self {
            case .parameterTuning: ["k", "fusion_weight"]
            case .retrieverReplacement: ["variant", "fusion_weight"]
            case .rerankToggle: ["rerank"]
            case .templateChange: ["template"]
            }
        }
    }

    public enum Risk: String, Sendable, Codable, CaseIterable, Comparable {
        case low, medium, high
        var level: Int { Self.allCases.firstIndex(of: self)! }
        public static func < (a: Risk, b: Risk) -> Bool { a.level < b.level }
    }

    public struct Evidence: Sendable, Codable, Equatable {
        /// Window requests of the category that the replay matched to judged questions.
        public var requests: Int
        /// The category's share of the window's traffic.
        public var trafficShare: Double
        /// Per-query reward of the change minus the current settings, paired over those requests.
        public var expectedRewardChange: BootstrapInterval
        /// What the category's current settings breach on the window, if anything.
        public var currentBreaches: [String]

        public init(requests: Int, trafficShare: Double, expectedRewardChange: BootstrapInterval, currentBreaches: [String]) {
            self.requests = requests
            self.trafficShare = trafficShare
            self.expectedRewardChange = expectedRewardChange
            self.currentBreaches = currentBreaches
        }
    }

    /// Stable for the same change from the same settings: "H" + 8 hex digits.
    public var id: String
    public var cycle: String
    public var kind: Kind
    public var category: String
    public var from: RAGSettings
    public var to: RAGSettings
    public var evidence: Evidence
    public var risk: Risk
    /// Expected gain weighted by what past attempts of this kind taught (``PatternExtraction``).
    public var score: Double
    /// Why the score differs from the expected gain, when a pattern moved it.
    public var patternNote: String?

    public init(id: String, cycle: String, kind: Kind, category: String, from: RAGSettings, to: RAGSettings, evidence: Evidence, risk: Risk,
                score: Double, patternNote: String? = nil) {
        self.id = id
        self.cycle = cycle
        self.kind = kind
        self.category = category
        self.from = from
        self.to = to
        self.evidence = evidence
        self.risk = risk
        self.score = score
        self.patternNote = patternNote
    }

    public var summary: String {
        String(format: "%@ for %@: %@ → %@ (expected %+.4f [%+.4f, %+.4f], %d requests, %@ risk)", kind.rawValue, category,
               from.description, to.description, evidence.expectedRewardChange.estimate, evidence.expectedRewardChange.lower,
               evidence.expectedRewardChange.upper, evidence.requests, risk.rawValue)
    }
}
