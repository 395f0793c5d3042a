import Scoring
import TunerPolicy

/// What one configuration did for one query.
public struct QueryOutcome: Sendable, Equatable {
    public var query: Int
    public var ndcgAt10: Double
    public var recallAt10: Double
    public var faithfulness: Double
    public var relevancy: Double
    /// SQuAD token F1 of the answer against the gold answers; nil when the dataset has none.
    public var answerF1: Double?
    public var latencyMilliseconds: Double
    public var costUSD: Double
    public var inputTokens: Int
    public var outputTokens: Int
    /// Nothing retrieved or no sentence to answer from.
    public var failed: Bool
    /// The answer tripped the policy-violation detector.
    public var violation: Bool
}

/// Latency and cost of a query from its measured stages and the modelled services.
enum QueryCost {
    static func latency(
        stages: StageTimes, configuration: RAGSettings, rerankCandidates: Int,
        inputTokens: Int, outputTokens: Int, model: PipelineModel
    ) -> Double {
        let usesDense = configuration.variant != .bm25 || configuration.rerank
        return stages.total(for: configuration)
            + (usesDense ? model.queryEmbeddingMilliseconds : 0)
            + (configuration.rerank ? model.rerankMilliseconds(candidates: rerankCandidates) : 0)
            + model.generatorMilliseconds(inputTokens: inputTokens, outputTokens: outputTokens)
    }
}

extension QueryOutcome {
    /// An outcome another service reported: what the evaluator protocol carries per question
    /// (no ranking metrics or token counts).
    public init(query: Int, faithfulness: Double, relevancy: Double, latencyMilliseconds: Double, costUSD: Double, failed: Bool, violation: Bool) {
        self.init(query: query, ndcgAt10: 0, recallAt10: 0, faithfulness: faithfulness, relevancy: relevancy, answerF1: nil,
                  latencyMilliseconds: latencyMilliseconds, costUSD: costUSD, inputTokens: 0, outputTokens: 0, failed: failed, violation: violation)
    }
}
