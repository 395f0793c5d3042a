import ConfigurationFiles
import Foundation

/// A model of the parts of a RAG service that this machine does not run — the generator (an
/// LLM behind an API) and a cross-encoder re-ranking service — so that top-k, re-ranking and the
/// prompt template move latency and cost the way they do in production. Loaded from
/// `configs/rag/pipeline.yaml`; the defaults resemble a hosted mid-size model.
///
///   generator latency = overhead + prefill · input tokens + decode · output tokens
///   generator cost    = input tokens / 1000 · price_in + output tokens / 1000 · price_out
///   re-rank latency   = per-candidate time · candidates re-ranked
///   query embedding   = a fixed time per query that uses dense retrieval (the shipped
///                       embeddings are precomputed, so the encoder's time is modelled)
///
/// The pipeline's own compute (retrieval, fusion, re-ranker features, answer extraction) is
/// measured, not modelled, and added to the latency. The file also holds the two settings of the
/// pipeline itself that shape context and answer: the template budgets and the answer step's
/// attention to the middle of the context.
public struct PipelineModel: Sendable, Equatable {
    public var generatorOverheadMilliseconds = 100.0
    public var prefillMillisecondsPerToken = 0.12
    public var decodeMillisecondsPerToken = 4.0
    public var inputPricePer1kTokensUSD = 0.0005
    public var outputPricePer1kTokensUSD = 0.0015
    /// Instructions and formatting around the question and the passages.
    public var promptOverheadTokens = 60
    /// The generator writes an answer about as long as the sentence it rests on, up to this.
    public var maxOutputTokens = 64
    public var rerankMillisecondsPerCandidate = 1.2
    /// A MiniLM-size query encoder on CPU.
    public var queryEmbeddingMilliseconds = 6.0
    /// Attention at the middle of the context (see `AnswerStep`).
    public var middleAttention = 0.8
    public var passageTokenBudget = 96
    public var contextTokenBudget = 1024

    public init() {}

    public func generatorMilliseconds(inputTokens: Int, outputTokens: Int) -> Double {
        generatorOverheadMilliseconds + prefillMillisecondsPerToken * Double(inputTokens)
            + decodeMillisecondsPerToken * Double(outputTokens)
    }

    public func costUSD(inputTokens: Int, outputTokens: Int) -> Double {
        Double(inputTokens) / 1000 * inputPricePer1kTokensUSD + Double(outputTokens) / 1000 * outputPricePer1kTokensUSD
    }

    public func rerankMilliseconds(candidates: Int) -> Double {
        rerankMillisecondsPerCandidate * Double(candidates)
    }

    public static func load(from url: URL) throws -> PipelineModel {
        try parse(YAMLFields.load(url))
    }

    public static func parse(_ yaml: YAMLFields) throws -> PipelineModel {
        var m = PipelineModel()
        try yaml.onlyAllow(["version", "generator", "reranker", "embedding", "answer", "templates"])
        _ = try yaml.int("version", in: 1...1, default: 1)
        if let g = try yaml.section("generator") {
            try g.onlyAllow(["overhead_ms", "prefill_ms_per_token", "decode_ms_per_token", "input_usd_per_1k_tokens",
                             "output_usd_per_1k_tokens", "prompt_overhead_tokens", "max_output_tokens"])
            m.generatorOverheadMilliseconds = try g.double("overhead_ms", in: 0...60_000, default: m.generatorOverheadMilliseconds)
            m.prefillMillisecondsPerToken = try g.double("prefill_ms_per_token", in: 0...100, default: m.prefillMillisecondsPerToken)
            m.decodeMillisecondsPerToken = try g.double("decode_ms_per_token", in: 0...1_000, default: m.decodeMillisecondsPerToken)
            m.inputPricePer1kTokensUSD = try g.double("input_usd_per_1k_tokens", in: 0...10, default: m.inputPricePer1kTokensUSD)
            m.outputPricePer1kTokensUSD = try g.double("output_usd_per_1k_tokens", in: 0...10, default: m.outputPricePer1kTokensUSD)
            m.promptOverheadTokens = try g.int("prompt_overhead_tokens", in: 0...100_000, default: m.promptOverheadTokens)
            m.maxOutputTokens = try g.int("max_output_tokens", in: 1...100_000, default: m.maxOutputTokens)
        }
        if let r = try yaml.section("reranker") {
            try r.onlyAllow(["ms_per_candidate"])
            m.rerankMillisecondsPerCandidate = try r.double("ms_per_candidate", in: 0...1_000, default: m.rerankMillisecondsPerCandidate)
        }
        if let e = try yaml.section("embedding") {
            try e.onlyAllow(["ms_per_query"])
            m.queryEmbeddingMilliseconds = try e.double("ms_per_query", in: 0...60_000, default: m.queryEmbeddingMilliseconds)
        }
        if let a = try yaml.section("answer") {
            try a.onlyAllow(["middle_attention"])
            m.middleAttention = try a.double("middle_attention", in: 0...1, default: m.middleAttention)
        }
        if let t = try yaml.section("templates") {
            try t.onlyAllow(["passage_tokens", "context_tokens"])
            m.passageTokenBudget = try t.int("passage_tokens", in: 1...100_000, default: m.passageTokenBudget)
            m.contextTokenBudget = try t.int("context_tokens", in: 1...1_000_000, default: m.contextTokenBudget)
        }
        return m
    }
}
