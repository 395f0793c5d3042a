import Foundation
import Evaluation
import Retrieval

/// Everything about a batch of queries that does not depend on the configuration, computed once:
/// each query's candidate pool with both retrievers' normalised scores and ranks, re-ranker
/// scores, gold grades, token counts, and each candidate's best answer sentence in full and
/// truncated form. Scoring a configuration is then a few passes over these arrays, with
/// exactly the results of `RAGPipeline` (tested), at millions of query-evaluations per second.
public final class EvaluationCache: @unchecked Sendable {
    /// One candidate of one query's pool.
    struct Entry {
        var document: Int32
        var lexicalNormalized: Float
        var denseNormalized: Float
        var lexicalRank: Int32
        var denseRank: Int32
        var rerankScore: Float
        var grade: Float
        var fullTokens: Int32
        var truncatedTokens: Int32
        /// Best sentence's support when the whole passage is visible, and when truncated
        /// (-1: no sentence visible).
        var fullSupport: Float
        var truncatedSupport: Float
        var fullOutputTokens: Int32
        var truncatedOutputTokens: Int32
        var fullRecall: Double
        var truncatedRecall: Double
        var fullF1: Double
        var truncatedF1: Double
        var fullViolation: Bool
        var truncatedViolation: Bool
    }

    struct QueryRecord {
        var query: Int
        var category: Int
        var entryStart: Int
        var entryCount: Int
        /// Pool positions in BM25 order and in dense order (top `poolDepth` of each).
        var lexicalOrderStart: Int
        var lexicalOrderCount: Int
        var denseOrderStart: Int
        var denseOrderCount: Int
        var baseInputTokens: Int
        var idealDCG10: Double
        var relevantCount: Int
        var relevantTotalGrade: Float
        var relevantMaxGrade: Float
        var stages: StageTimes
        /// Measured answer-step time per context passage.
        var answerMillisecondsPerPassage: Double
    }

    public let system: RetrievalSystem
    public let queries: [Int]
    public let categories: [String]
    let hasAnswers: Bool
    private var entries: [Entry] = []
    private var orders: [Int32] = []
    private var records: [QueryRecord] = []
    private let answerStep: AnswerStep
    private let budgets: PromptTemplate.Budgets
    private let rerankDepth: Int

    /// Builds the cache for `queries` (indices into the dataset's queries).
    public init(system: RetrievalSystem, queries: [Int]) {
        self.system = system
        self.queries = queries
        let pipeline = RAGPipeline(system: system)
        answerStep = pipeline.answerStep
        budgets = pipeline.budgets
        rerankDepth = system.options.rerankDepth
        let categoryNames = Array(Set(queries.map { system.dataset.queries[$0].category })).sorted()
        categories = categoryNames
        let categoryIndex = Dictionary(uniqueKeysWithValues: categoryNames.enumerated().map { ($1, $0) })
        hasAnswers = queries.contains { !system.dataset.queries[$0].answers.isEmpty }
        let model = system.costModel
        let detector = pipeline.detector

        for q in queries {
            var first = system.firstStage(query: q)
            let pool = first.pool
            var clock = Stopwatch()
            let rerankScores = system.reranker?.scores(pool, documentLengths: system.lexical.documentLengths)
                ?? [Float](repeating: 0, count: pool.count)
            first.times.rerank = clock.milliseconds

            let query = system.dataset.queries[q]
            let grades = system.grades[q]
            clock = Stopwatch()
            let weights = AnswerStep.queryWeights(first.queryTerms, index: system.lexical)
            let start = entries.count
            for i in 0..<pool.count {
                let d = pool.documents[i]
                let lead = system.sentences.leadingSentences(Int(d), budget: budgets.passageTokens)
                let full = AnswerStep.bestSentence(in: Int(d), visible: nil, sentences: system.sentences, query: weights)
                let truncated = AnswerStep.bestSentence(in: Int(d), visible: lead.count, sentences: system.sentences, query: weights)
                /// Output tokens, gold-answer recall and F1, violation of the answer sentence.
                func facts(_ best: (sentence: Int, support: Float)?) -> (Int32, Double, Double, Bool) {
                    let text = best.map { system.sentences.passages[Int(d)][$0.sentence].text } ?? ""
                    return (Int32(min(TokenCount.of(text), model.maxOutputTokens)),
                            AnswerOverlap.recall(answer: text, gold: query.answers),
                            AnswerOverlap.f1(answer: text, gold: query.answers),
                            detector.isViolating(text))
                }
                let fullFacts = facts(full)
                let truncatedFacts = truncated?.sentence == full?.sentence ? fullFacts : facts(truncated)
                entries.append(Entry(
                    document: d, lexicalNormalized: pool.lexicalNormalized[i], denseNormalized: pool.denseNormalized[i],
                    lexicalRank: pool.lexicalRank[i], denseRank: pool.denseRank[i], rerankScore: rerankScores[i],
                    grade: grades[d] ?? 0,
                    fullTokens: Int32(system.sentences.passageTokens[Int(d)]), truncatedTokens: Int32(lead.tokens),
                    fullSupport: full?.support ?? -1, truncatedSupport: truncated?.support ?? -1,
                    fullOutputTokens: fullFacts.0, truncatedOutputTokens: truncatedFacts.0,
                    fullRecall: fullFacts.1, truncatedRecall: truncatedFacts.1,
                    fullF1: fullFacts.2, truncatedF1: truncatedFacts.2,
                    fullViolation: fullFacts.3, truncatedViolation: truncatedFacts.3))
            }
            let answerMilliseconds = clock.milliseconds

            let lexicalOrder = (0..<pool.count).filter { pool.lexicalRank[$0] != CandidatePool.unranked }
                .sorted { pool.lexicalRank[$0] < pool.lexicalRank[$1] }
            let denseOrder = (0..<pool.count).filter { pool.denseRank[$0] != CandidatePool.unranked }
                .sorted { pool.denseRank[$0] < pool.denseRank[$1] }
            let lexicalStart = orders.count
            orders += lexicalOrder.map(Int32.init)
            let denseStart = orders.count
            orders += denseOrder.map(Int32.init)

            records.append(QueryRecord(
                query: q, category: categoryIndex[query.category]!, entryStart: start, entryCount: pool.count,
                lexicalOrderStart: lexicalStart, lexicalOrderCount: lexicalOrder.count,
                denseOrderStart: denseStart, denseOrderCount: denseOrder.count,
                baseInputTokens: model.promptOverheadTokens + TokenCount.of(query.text),
                idealDCG10: RankingMetrics.idealDCG(grades: grades, k: 10),
                relevantCount: grades.count, relevantTotalGrade: grades.values.reduce(0, +),
                relevantMaxGrade: grades.values.max() ?? 0,
                stages: first.times, answerMillisecondsPerPassage: pool.count > 0 ? answerMilliseconds / Double(pool.count) : 0))
        }
    }

    public var count: Int { records.count }

    /// The stage times the cache charges `configuration` for query number `i` of the batch
    /// when the context has `passages` passages.
    public func stageTimes(at i: Int, passages: Int) -> StageTimes {
        var stages = records[i].stages
        stages.answer = records[i].answerMillisecondsPerPassage * Double(passages)
        return stages
    }

    /// Scratch space for one evaluation, reused so that scoring allocates nothing.
    public final class Workspace {
        var firstStage: [Int32]
        var scores: [Float]
        var context: [Int32]
        var contextUsesTruncation = false
        var gradesByRank: [Float]

        public init() {
            firstStage = [Int32](repeating: 0, count: 1024)
            scores = [Float](repeating: 0, count: 1024)
            context = [Int32](repeating: 0, count: 1024)
            gradesByRank = [Float](repeating: 0, count: 1024)
        }

        func reserve(_ n: Int) {
            guard n > firstStage.count else { return }
            firstStage = [Int32](repeating: 0, count: n)
            scores = [Float](repeating: 0, count: n)
            context = [Int32](repeating: 0, count: n)
            gradesByRank = [Float](repeating: 0, count: n)
        }
    }

    /// Scores `configuration` on every cached query.
    public func evaluate(_ configuration: RAGConfiguration, reward: RewardFunction, workspace: Workspace = Workspace()) throws -> BatchReport {
        var outcomes: [QueryOutcome] = []
        outcomes.reserveCapacity(records.count)
        for i in records.indices { outcomes.append(try outcome(at: i, configuration: configuration, workspace: workspace)) }
        return BatchReport(
            configuration: configuration, outcomes: outcomes, categories: system.dataset.queries.map(\.category), reward: reward)
    }

    /// The outcome of `c` on query number `i` of the batch.
    public func outcome(at i: Int, configuration c: RAGConfiguration, workspace ws: Workspace) throws -> QueryOutcome {
        if c.rerank && system.reranker == nil { throw RAGPipeline.Failure.noReranker(dataset: system.dataset.manifest.id) }
        let r = records[i]
        ws.reserve(max(r.entryCount, c.k, rerankDepth))
        return entries.withUnsafeBufferPointer { all in
            let pool = UnsafeBufferPointer(rebasing: all[r.entryStart..<(r.entryStart + r.entryCount)])
            let depth = c.rerank ? max(c.k, rerankDepth) : c.k
            let m = selectFirstStage(r, pool: pool, configuration: c, depth: depth, workspace: ws)
            if c.rerank { rerank(m, pool: pool, workspace: ws) }
            let finalCount = min(c.k, m)
            return score(r, pool: pool, configuration: c, finalCount: finalCount, rerankCandidates: c.rerank ? m : 0, workspace: ws)
        }
    }

    /// Fills `ws.firstStage` with the best `depth` pool positions for the variant; returns how many.
    private func selectFirstStage(
        _ r: QueryRecord, pool: UnsafeBufferPointer<Entry>, configuration c: RAGConfiguration, depth: Int, workspace ws: Workspace
    ) -> Int {
        switch c.variant {
        case .bm25, .dense:
            let (start, count) = c.variant == .bm25 ? (r.lexicalOrderStart, r.lexicalOrderCount) : (r.denseOrderStart, r.denseOrderCount)
            let m = min(depth, count)
            for j in 0..<m { ws.firstStage[j] = orders[start + j] }
            return m
        case .hybrid, .rrf:
            let w = Float(c.fusionWeight)
            var m = 0
            for p in 0..<pool.count {
                let e = pool[p]
                let s = c.variant == .hybrid
                    ? Fusion.convex(lexical: e.lexicalNormalized, dense: e.denseNormalized, weight: w)
                    : Fusion.reciprocalRank(lexicalRank: e.lexicalRank, denseRank: e.denseRank, weight: w)
                // Insert into the sorted top-`depth` list: score descending, then document ascending.
                if m == depth {
                    let last = pool[Int(ws.firstStage[m - 1])]
                    guard s > ws.scores[m - 1] || (s == ws.scores[m - 1] && e.document < last.document) else { continue }
                    m -= 1
                }
                var j = m
                while j > 0 {
                    let previous = ws.scores[j - 1]
                    guard s > previous || (s == previous && e.document < pool[Int(ws.firstStage[j - 1])].document) else { break }
                    ws.firstStage[j] = ws.firstStage[j - 1]
                    ws.scores[j] = previous
                    j -= 1
                }
                ws.firstStage[j] = Int32(p)
                ws.scores[j] = s
                m += 1
            }
            return m
        }
    }

    /// Reorders the first `m` first-stage positions by re-ranker score (ties: first-stage order).
    private func rerank(_ m: Int, pool: UnsafeBufferPointer<Entry>, workspace ws: Workspace) {
        for j in 1..<max(m, 1) {
            let item = ws.firstStage[j]
            let s = pool[Int(item)].rerankScore
            var i = j
            while i > 0 && s > pool[Int(ws.firstStage[i - 1])].rerankScore {
                ws.firstStage[i] = ws.firstStage[i - 1]
                i -= 1
            }
            ws.firstStage[i] = item
        }
    }

    private func score(
        _ r: QueryRecord, pool: UnsafeBufferPointer<Entry>, configuration c: RAGConfiguration, finalCount n: Int,
        rerankCandidates: Int, workspace ws: Workspace
    ) -> QueryOutcome {
        // The context: which ranked positions, in which order, fully or truncated.
        var slots = n
        var contextTokens = 0
        let truncated = c.template == .truncated
        switch c.template {
        case .ranked, .truncated:
            for j in 0..<n {
                ws.context[j] = Int32(j)
                contextTokens += Int(truncated ? pool[Int(ws.firstStage[j])].truncatedTokens : pool[Int(ws.firstStage[j])].fullTokens)
            }
        case .budgeted:
            slots = 0
            for j in 0..<n {
                let tokens = Int(pool[Int(ws.firstStage[j])].fullTokens)
                if contextTokens + tokens > budgets.contextTokens && slots > 0 { break }
                ws.context[slots] = Int32(j)
                contextTokens += tokens
                slots += 1
            }
        case .sandwich:
            for p in 0..<n {
                ws.context[p] = Int32(PromptTemplate.sandwichRank(position: p, count: n))
                contextTokens += Int(pool[Int(ws.firstStage[p])].fullTokens)
            }
        }

        // The answer: best support × position weight; the earliest slot wins ties.
        var best = -1
        var bestScore: Float = 0
        for p in 0..<slots {
            let e = pool[Int(ws.firstStage[Int(ws.context[p])])]
            let support = truncated ? e.truncatedSupport : e.fullSupport
            guard support >= 0 else { continue }
            let value = support * answerStep.positionWeight(p, of: slots)
            if best < 0 || value > bestScore { best = p; bestScore = value }
        }

        var dcg = 0.0
        var found = 0
        for j in 0..<min(n, 10) {
            let g = pool[Int(ws.firstStage[j])].grade
            if g > 0 { dcg += Double(g) / log2(Double(j) + 2); found += 1 }
        }
        // The context's passages in retrieval order: ranks 0..<slots for every template.
        for j in 0..<slots { ws.gradesByRank[j] = pool[Int(ws.firstStage[j])].grade }
        let relevancy = ws.gradesByRank.withUnsafeBufferPointer {
            GoldJudge.relevancy(gradesByRank: UnsafeBufferPointer(rebasing: $0[0..<slots]), relevantCount: r.relevantCount, totalGrade: r.relevantTotalGrade)
        }

        let answer = best >= 0 ? pool[Int(ws.firstStage[Int(ws.context[best])])] : nil
        let sourceGrade = answer?.grade ?? 0
        let recall = answer.map { truncated ? $0.truncatedRecall : $0.fullRecall } ?? 0
        let f1 = answer.map { truncated ? $0.truncatedF1 : $0.fullF1 } ?? 0
        let outputTokens = answer.map { Int(truncated ? $0.truncatedOutputTokens : $0.fullOutputTokens) } ?? 0
        let inputTokens = r.baseInputTokens + contextTokens
        let model = system.costModel
        var stages = r.stages
        stages.answer = r.answerMillisecondsPerPassage * Double(slots)
        return QueryOutcome(
            query: r.query,
            ndcgAt10: r.idealDCG10 > 0 ? dcg / r.idealDCG10 : 0,
            recallAt10: r.relevantCount > 0 ? Double(found) / Double(r.relevantCount) : 0,
            faithfulness: GoldJudge.faithfulness(sourceGrade: sourceGrade, maxGrade: r.relevantMaxGrade, answerRecall: hasAnswers ? recall : nil),
            relevancy: relevancy,
            answerF1: hasAnswers ? f1 : nil,
            latencyMilliseconds: QueryCost.latency(
                stages: stages, configuration: c, rerankCandidates: rerankCandidates,
                inputTokens: inputTokens, outputTokens: outputTokens, model: model),
            costUSD: model.costUSD(inputTokens: inputTokens, outputTokens: outputTokens),
            inputTokens: inputTokens, outputTokens: outputTokens,
            failed: answer == nil,
            violation: answer.map { truncated ? $0.truncatedViolation : $0.fullViolation } ?? false)
    }
}
