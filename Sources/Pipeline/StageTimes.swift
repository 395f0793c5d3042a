import TunerPolicy

/// Measured compute of the pipeline's own stages for one query, milliseconds.
public struct StageTimes: Sendable, Equatable {
    /// Query analysis and BM25 scoring over the inverted index.
    public var lexical: Double = 0
    /// Scoring the query vector against every document vector.
    public var dense: Double = 0
    /// Building the candidate pool and fusing.
    public var fusion: Double = 0
    /// Re-ranker features and forward pass over the pool.
    public var rerank: Double = 0
    /// Sentence scoring for the answer step.
    public var answer: Double = 0

    public init() {}

    /// The stages a configuration runs.
    public func total(for configuration: RAGSettings) -> Double {
        let needsLexical = configuration.variant != .dense || configuration.rerank
        let needsDense = configuration.variant != .bm25 || configuration.rerank
        let needsPool = configuration.variant.usesFusionWeight || configuration.rerank
        return (needsLexical ? lexical : 0) + (needsDense ? dense : 0) + (needsPool ? fusion : 0)
            + (configuration.rerank ? rerank : 0) + answer
    }
}

/// Milliseconds elapsed since creation, on the monotonic continuous clock.
struct Stopwatch {
    private let start = ContinuousClock.now
    var milliseconds: Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) * 1e-15
    }
}
