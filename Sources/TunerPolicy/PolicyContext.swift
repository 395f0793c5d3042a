/// What a RAG service knows when it asks for a decision: the question's category and its own
/// recent behaviour (smoothed over recent requests, as the service measures it), the settings in
/// force, the corpus size and, where the service knows it, the corpus's age. ``ContextFeatures``
/// turns it into the policy's observation.
public struct PolicyContext: Sendable, Equatable {
    public var category: String
    /// Recent answer faithfulness and relevancy in [0, 1] (the service's judge or feedback).
    public var faithfulness: Double
    public var relevancy: Double
    public var latencyP50Milliseconds: Double
    public var latencyP95Milliseconds: Double
    /// Recent cost per query in US dollars.
    public var costUSD: Double
    /// The settings the service runs now.
    public var current: RAGSettings
    public var corpusDocuments: Int
    /// Days since the corpus was last rebuilt or refreshed; nil when the service does not say.
    public var corpusAgeDays: Double?

    public init(category: String, faithfulness: Double, relevancy: Double, latencyP50Milliseconds: Double,
                latencyP95Milliseconds: Double, costUSD: Double, current: RAGSettings = RAGSettings(), corpusDocuments: Int,
                corpusAgeDays: Double? = nil) {
        self.category = category
        self.faithfulness = faithfulness
        self.relevancy = relevancy
        self.latencyP50Milliseconds = latencyP50Milliseconds
        self.latencyP95Milliseconds = latencyP95Milliseconds
        self.costUSD = costUSD
        self.current = current
        self.corpusDocuments = corpusDocuments
        self.corpusAgeDays = corpusAgeDays
    }
}

/// The JSON a service sends to `POST /decide` (tuner serve).
extension PolicyContext: Codable {
    enum CodingKeys: String, CodingKey {
        case category, faithfulness, relevancy, current
        case latencyP50Milliseconds = "latency_p50_ms", latencyP95Milliseconds = "latency_p95_ms", costUSD = "cost_usd"
        case corpusDocuments = "corpus_documents", corpusAgeDays = "corpus_age_days"
    }

    /// As a service sends it (`POST /decide`): `current` may be left out for the default settings,
    /// `corpus_age_days` when the service does not know it.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(signals: decoder, current: try c.decodeIfPresent(RAGSettings.self, forKey: .current) ?? RAGSettings())
    }

    /// The category and signals of a `POST /decide` body, with the settings in force given apart:
    /// a service with knobs of its own sends its own configuration as `current`.
    public init(signals decoder: any Decoder, current: RAGSettings) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(category: try c.decode(String.self, forKey: .category), faithfulness: try c.decode(Double.self, forKey: .faithfulness),
                  relevancy: try c.decode(Double.self, forKey: .relevancy),
                  latencyP50Milliseconds: try c.decode(Double.self, forKey: .latencyP50Milliseconds),
                  latencyP95Milliseconds: try c.decode(Double.self, forKey: .latencyP95Milliseconds), costUSD: try c.decode(Double.self, forKey: .costUSD),
                  current: current,
                  corpusDocuments: try c.decode(Int.self, forKey: .corpusDocuments),
                  corpusAgeDays: try c.decodeIfPresent(Double.self, forKey: .corpusAgeDays))
    }
}
