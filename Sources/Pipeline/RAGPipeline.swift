import Retrieval
import Scoring
import TunerPolicy

/// The pipeline run from scratch for one query and one configuration: first-stage retrieval,
/// fusion, re-ranking, the prompt template, the answer step. This is the reference path; the
/// `EvaluationCache` must reproduce its results exactly.
public struct RAGPipeline: Sendable {
    public let system: RetrievalSystem
    public let answerStep: AnswerStep
    public let detector = PolicyViolationDetector()

    public init(system: RetrievalSystem) {
        self.system = system
        self.answerStep = AnswerStep(middleAttention: Float(system.costModel.middleAttention))
    }

    public var budgets: PromptTemplate.Budgets {
        PromptTemplate.Budgets(passageTokens: system.costModel.passageTokenBudget, contextTokens: system.costModel.contextTokenBudget)
    }

    public enum Failure: Error, CustomStringConvertible {
        case noReranker(dataset: String)
        public var description: String {
            switch self {
            case .noReranker(let dataset): "re-ranking needs a re-ranker, and dataset '\(dataset)' has no train split to learn one from"
            }
        }
    }

    /// One question answered: what a RAG service returns and what its cost is made of.
    public struct Response: Sendable {
        public var configuration: RAGSettings
        /// The final ranking, best first (k documents at most).
        public var ranking: [Int32]
        public var context: [PromptTemplate.Slot]
        public var answer: AnswerStep.Answer?
        public var answerText: String
        public var stages: StageTimes
        public var inputTokens: Int
        public var outputTokens: Int
        public var rerankCandidates: Int
    }

    /// One dataset query answered, with what a judge needs to score it.
    public struct Run: Sendable {
        public var query: Int
        public var response: Response
        public var judgeRequest: JudgeRequest
    }

    /// Answers a question that need not be in the dataset (a live request).
    public func respond(to question: String, configuration c: RAGSettings) throws -> Response {
        try respond(first: system.firstStage(question: question), question: question, configuration: c)
    }

    public func run(query q: Int, configuration c: RAGSettings) throws -> Run {
        let query = system.dataset.queries[q]
        let response = try respond(first: system.firstStage(query: q), question: query.text, configuration: c)
        let (ranking, context, answer) = (response.ranking, response.context, response.answer)
        let grades = system.grades[q]
        let rankOf = Dictionary(uniqueKeysWithValues: ranking.enumerated().map { ($1, $0) })
        let contextByRank = context.map(\.document).sorted { rankOf[$0]! < rankOf[$1]! }
        let request = JudgeRequest(
            question: query.text,
            contexts: context.map { slot in
                let sentences = system.sentences.passages[Int(slot.document)]
                return sentences.prefix(slot.visibleSentences ?? sentences.count).map(\.text).joined(separator: " ")
            },
            answer: response.answerText,
            contextGradesByRank: contextByRank.map { grades[$0] ?? 0 },
            answerSourceGrade: answer.map { grades[context[$0.slot].document] ?? 0 } ?? 0,
            relevantCount: grades.count,
            relevantTotalGrade: grades.totalGrade,
            relevantMaxGrade: grades.values.max() ?? 0,
            goldAnswers: query.answers)
        return Run(query: q, response: response, judgeRequest: request)
    }

    private func respond(first: RetrievalSystem.FirstStage, question: String, configuration c: RAGSettings) throws -> Response {
        var first = first
        let depth = c.rerank ? max(c.k, system.options.rerankDepth) : c.k
        let candidates = firstStageRanking(first, configuration: c, depth: depth)

        var ranking = Array(candidates.prefix(c.k))
        if c.rerank {
            guard let reranker = system.reranker else { throw Failure.noReranker(dataset: system.dataset.manifest.id) }
            let clock = Stopwatch()
            let scores = reranker.scores(first.pool, documentLengths: system.lexical.documentLengths)
            var scoreOf: [Int32: Float] = [:]
            for (i, d) in first.pool.documents.enumerated() { scoreOf[d] = scores[i] }
            ranking = RerankOrder.apply(candidates) { scoreOf[$0]! }.prefix(c.k).map { $0 }
            first.times.rerank = clock.milliseconds
        }

        let context = PromptTemplate(c.template).arrange(ranking, sentences: system.sentences, budgets: budgets)
        let clock = Stopwatch()
        let answer = answerStep.answer(context: context, sentences: system.sentences, query: first.queryWeights)
        first.times.answer = clock.milliseconds

        let answerText = answer.map { system.sentences.passages[Int(context[$0.slot].document)][$0.sentence].text } ?? ""
        let inputTokens = system.costModel.promptOverheadTokens + TokenCount.of(question) + context.reduce(0) { $0 + $1.tokens }
        let outputTokens = answer == nil ? 0 : min(TokenCount.of(answerText), system.costModel.maxOutputTokens)
        return Response(
            configuration: c, ranking: ranking, context: context, answer: answer, answerText: answerText, stages: first.times,
            inputTokens: inputTokens, outputTokens: outputTokens, rerankCandidates: c.rerank ? candidates.count : 0)
    }

    /// The modelled end-to-end latency of a response (measured stages plus the generator and
    /// re-ranker model of `configs/rag/pipeline.yaml`) and its cost.
    public func latencyAndCost(_ r: Response, stages: StageTimes? = nil) -> (milliseconds: Double, usd: Double) {
        let model = system.costModel
        return (QueryCost.latency(stages: stages ?? r.stages, configuration: r.configuration, rerankCandidates: r.rerankCandidates,
                                  inputTokens: r.inputTokens, outputTokens: r.outputTokens, model: model),
                model.costUSD(inputTokens: r.inputTokens, outputTokens: r.outputTokens))
    }

    /// The first stage's best `depth` documents for the configuration's variant.
    func firstStageRanking(_ first: RetrievalSystem.FirstStage, configuration c: RAGSettings, depth: Int) -> [Int32] {
        let w = Float(c.fusionWeight)
        let pool = first.pool
        let selected: [ScoredDocument]
        switch c.variant {
        case .bm25:
            selected = first.lexicalScores.withUnsafeBufferPointer { TopK.select($0, k: depth) }.filter { $0.score > 0 }
        case .dense:
            selected = first.denseScores.withUnsafeBufferPointer { TopK.select($0, k: depth) }
        case .hybrid:
            selected = TopK.select((0..<pool.count).map {
                ScoredDocument(document: pool.documents[$0], score: Fusion.convex(lexical: pool.lexicalNormalized[$0], dense: pool.denseNormalized[$0], weight: w))
            }, k: depth)
        case .rrf:
            selected = TopK.select((0..<pool.count).map {
                ScoredDocument(document: pool.documents[$0], score: Fusion.reciprocalRank(lexicalRank: pool.lexicalRank[$0], denseRank: pool.denseRank[$0], weight: w))
            }, k: depth)
        }
        return selected.map(\.document)
    }

    /// The outcome of a run given the judge's scores.
    public func outcome(_ run: Run, scores: JudgeScores, stages: StageTimes? = nil) -> QueryOutcome {
        let grades = system.grades[run.query]
        let gold = system.dataset.queries[run.query].answers
        let r = run.response
        let (latency, cost) = latencyAndCost(r, stages: stages)
        return QueryOutcome(
            query: run.query,
            ndcgAt10: RankingMetrics.ndcg(r.ranking, grades: grades, k: 10),
            recallAt10: RankingMetrics.recall(r.ranking, grades: grades, k: 10),
            faithfulness: scores.faithfulness,
            relevancy: scores.relevancy,
            answerF1: gold.isEmpty ? nil : AnswerOverlap.f1(answer: r.answerText, gold: gold),
            latencyMilliseconds: latency,
            costUSD: cost,
            inputTokens: r.inputTokens, outputTokens: r.outputTokens,
            failed: r.answer == nil,
            violation: detector.isViolating(r.answerText))
    }
}

/// The re-ranked order of first-stage candidates: by re-ranker score, best first; ties keep the
/// first-stage order.
enum RerankOrder {
    static func apply<T>(_ candidates: [T], score: (T) -> Float) -> [T] {
        candidates.enumerated().map { ($0.offset, $0.element, score($0.element)) }
            .sorted { $0.2 != $1.2 ? $0.2 > $1.2 : $0.0 < $1.0 }
            .map(\.1)
    }
}
