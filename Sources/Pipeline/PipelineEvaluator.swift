import Scoring
import TunerPolicy

/// Scores a configuration by running the pipeline from scratch for every query and asking a
/// judge — any `Judge`, such as an `HTTPJudge` in front of a team's LLM judge. With the
/// built-in `GoldJudge` the result equals `EvaluationCache.evaluate` (tested).
public struct PipelineEvaluator: Sendable {
    public let pipeline: RAGPipeline
    public let judge: any Judge
    /// Requests sent to the judge per call.
    public var judgeBatchSize = 32

    public init(pipeline: RAGPipeline, judge: any Judge) {
        self.pipeline = pipeline
        self.judge = judge
    }

    public func outcomes(_ queries: [Int], configuration: RAGSettings) async throws -> [QueryOutcome] {
        let runs = try queries.map { try pipeline.run(query: $0, configuration: configuration) }
        var outcomes: [QueryOutcome] = []
        for start in stride(from: 0, to: runs.count, by: judgeBatchSize) {
            let batch = Array(runs[start..<min(start + judgeBatchSize, runs.count)])
            let scores = try await judge.score(batch.map(\.judgeRequest))
            outcomes += zip(batch, scores).map { pipeline.outcome($0, scores: $1) }
        }
        return outcomes
    }

    public func evaluate(_ queries: [Int], configuration: RAGSettings, reward: RewardFunction) async throws -> BatchReport {
        let outcomes = try await outcomes(queries, configuration: configuration)
        let categories = BatchReport.categoryIndices(queries.map { pipeline.system.dataset.queries[$0].category })
        return BatchReport(
            configuration: configuration, outcomes: outcomes, categories: categories.indices, categoryNames: categories.names, reward: reward)
    }
}
