/// What a RAG service knows when it asks for a decision: the question's category and its own
/// recent behaviour (smoothed over recent requests, as the service measures it), the settings in
/// force and the corpus size. ``ContextFeatures`` turns it into the policy's observation.
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

    public init(category: String, faithfulness: Double, relevancy: Double, latencyP50Milliseconds: Double,
                latencyP95Milliseconds: Double, costUSD: Double, current: RAGSettings = RAGSettings(), corpusDocuments: Int) {
        self.category = category
        self.faithfulness = faithfulness
        self.relevancy = relevancy
        self.latencyP50Milliseconds = latencyP50Milliseconds
        self.latencyP95Milliseconds = latencyP95Milliseconds
        self.costUSD = costUSD
        self.current = current
        self.corpusDocuments = corpusDocuments
    }
}
