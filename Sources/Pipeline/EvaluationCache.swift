import Foundation
import Retrieval
import Scoring
import TunerPolicy

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
        /// Pool positions by re-ranker score, best first.
        var rerankOrderStart: Int
        var baseInputTokens: Int
        var idealDCG10: Double
        var relevantCount: Int
        var relevantTotalGrade: Float
        var relevantMaxGrade: Float
        /// Whether the question has gold answers: its faithfulness then counts their recall, as
        /// the gold judge's does, question by question (a union mixes datasets with and without).
        var hasAnswers: Bool
        /// The stage times charged (measured now, or recorded by an earlier run).
        var times: StageTimings.Question
    }

    public let system: RetrievalSystem
    public let queries: [Int]
    public let categories: [String]
    // Immutable once built: `let` arrays are read without exclusivity checks.
    private let entries: [Entry]
    /// Per entry, the two inputs of each fusion, side by side for a vectorised scoring pass:
    /// [normalised BM25, normalised dense] and [RR term of BM25 rank, RR term of dense rank].
    private let convexInputs: [SIMD2<Float>]
    private let reciprocalRankInputs: [SIMD2<Float>]
    private let orders: [Int32]
    private let records: [QueryRecord]
    private let largestPool: Int
    /// Each cached query's index into `categories`.
    private let categoryOfRecord: [Int]
    private let answerStep: AnswerStep
    private let budgets: PromptTemplate.Budgets
    private let rerankDepth: Int

    /// Builds the cache for `queries` (indices into the dataset's queries). A question found in
    /// `timings` is charged the stage times recorded there instead of the ones measured now.
    public init(system: RetrievalSystem, queries: [Int], timings: StageTimings? = nil) {
        self.system = system
        self.queries = queries
        let pipeline = RAGPipeline(system: system)
        answerStep = pipeline.answerStep
        budgets = pipeline.budgets
        rerankDepth = system.options.rerankDepth
        let categoryNames = Array(Set(queries.map { system.dataset.queries[$0].category })).sorted()
        categories = categoryNames
        let categoryIndex = Dictionary(uniqueKeysWithValues: categoryNames.enumerated().map { ($1, $0) })
        let model = system.costModel
        let detector = pipeline.detector
        var entries: [Entry] = []
        var orders: [Int32] = []
        var records: [QueryRecord] = []
        var charges: [String: StageTimings.Question] = [:]

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
            let weights = first.queryWeights
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
            let rerankStart = orders.count
            orders += (0..<pool.count).sorted { rerankScores[$0] != rerankScores[$1] ? rerankScores[$0] > rerankScores[$1] : $0 < $1 }.map(Int32.init)

            // A question asked again (a replayed log) is charged its first measurement, so the
            // times round-trip through `timings`.
            let measured = StageTimings.Question(
                lexical: first.times.lexical, dense: first.times.dense, fusion: first.times.fusion, rerank: first.times.rerank,
                answerPerPassage: pool.count > 0 ? answerMilliseconds / Double(pool.count) : 0)
            let charged = timings?.questions[query.id] ?? charges[query.id] ?? measured
            charges[query.id] = charged
            records.append(QueryRecord(
                query: q, category: categoryIndex[query.category]!, entryStart: start, entryCount: pool.count,
                lexicalOrderStart: lexicalStart, lexicalOrderCount: lexicalOrder.count,
                denseOrderStart: denseStart, denseOrderCount: denseOrder.count, rerankOrderStart: rerankStart,
                baseInputTokens: model.promptOverheadTokens + TokenCount.of(query.text),
                idealDCG10: RankingMetrics.idealDCG(grades: grades, k: 10),
                relevantCount: grades.count, relevantTotalGrade: grades.totalGrade,
                relevantMaxGrade: grades.values.max() ?? 0,
                hasAnswers: !query.answers.isEmpty, times: charged))
        }
        self.entries = entries
        convexInputs = entries.map { SIMD2($0.lexicalNormalized, $0.denseNormalized) }
        reciprocalRankInputs = entries.map {
            SIMD2(Fusion.reciprocalRankTerm($0.lexicalRank), Fusion.reciprocalRankTerm($0.denseRank))
        }
        self.orders = orders
        self.records = records
        largestPool = records.map(\.entryCount).max() ?? 0
        categoryOfRecord = records.map(\.category)
    }

    /// The stage times this cache charges, by question id: what a run keeps to charge them again.
    public var timings: StageTimings {
        StageTimings(questions: Dictionary(records.map { (system.dataset.queries[$0.query].id, $0.times) },
                                           uniquingKeysWith: { first, _ in first }))
    }

    /// The stage times the cache charges `configuration` for query number `i` of the batch
    /// when the context has `passages` passages.
    public func stageTimes(at i: Int, passages: Int) -> StageTimes {
        records[i].times.stageTimes(passages: passages)
    }

    /// Scratch space for one evaluation, sized for the cache's largest pool (no ranking is
    /// longer), so that scoring allocates nothing. Not to be shared between threads.
    public final class Workspace {
        let capacity: Int
        let firstStage: UnsafeMutablePointer<Int32>
        let context: UnsafeMutablePointer<Int32>
        let gradesByRank: UnsafeMutablePointer<Float>
        /// Fused first-stage keys of the pool and a scratch copy for selection.
        let keys: UnsafeMutablePointer<UInt64>
        let scratch: UnsafeMutablePointer<UInt64>

        init(capacity: Int) {
            self.capacity = max(capacity, 1)
            firstStage = .allocate(capacity: self.capacity)
            context = .allocate(capacity: self.capacity)
            gradesByRank = .allocate(capacity: self.capacity)
            keys = .allocate(capacity: self.capacity)
            scratch = .allocate(capacity: self.capacity)
        }

        deinit {
            firstStage.deallocate()
            context.deallocate()
            gradesByRank.deallocate()
            keys.deallocate()
            scratch.deallocate()
        }
    }

    public func makeWorkspace() -> Workspace { Workspace(capacity: largestPool) }

    /// The index into `categories` of cached query number `i`.
    public func categoryIndex(at i: Int) -> Int { categoryOfRecord[i] }

    /// Scores `configuration` on every cached query.
    public func evaluate(_ configuration: RAGSettings, reward: RewardFunction, workspace: Workspace? = nil) throws -> BatchReport {
        let workspace = workspace ?? makeWorkspace()
        var outcomes: [QueryOutcome] = []
        outcomes.reserveCapacity(records.count)
        for i in records.indices { outcomes.append(try outcome(at: i, configuration: configuration, workspace: workspace)) }
        return BatchReport(
            configuration: configuration, outcomes: outcomes, categories: categoryOfRecord, categoryNames: categories, reward: reward)
    }

    /// The outcome of `c` on query number `i` of the batch.
    public func outcome(at i: Int, configuration c: RAGSettings, workspace ws: Workspace) throws -> QueryOutcome {
        if c.rerank && system.reranker == nil { throw RAGPipeline.Failure.noReranker(dataset: system.dataset.manifest.id) }
        let r = records[i]
        precondition(ws.capacity >= r.entryCount, "workspace of another cache: make one with makeWorkspace()")
        return entries.withUnsafeBufferPointer { all in
            let pool = UnsafeBufferPointer(rebasing: all[r.entryStart..<(r.entryStart + r.entryCount)])
            let (count, candidates) = rank(r, pool: pool, configuration: c, workspace: ws)
            return score(r, pool: pool, configuration: c, finalCount: count, rerankCandidates: candidates, workspace: ws)
        }
    }

    /// Writes the final ranking (pool positions, best first) into `ws.firstStage` and returns
    /// its length and how many first-stage candidates were re-ranked.
    ///
    /// The first stage's order is total: fused score descending, then document ascending,
    /// encoded in one 64-bit key per candidate (non-negative Float bits sort like the floats), so
    /// the top `depth` is a selection by key. Re-ranking walks the candidates in re-ranker
    /// order and keeps the first-stage members, which needs no sort at all.
    private func rank(_ r: QueryRecord, pool: UnsafeBufferPointer<Entry>, configuration c: RAGSettings, workspace ws: Workspace) -> (Int, Int) {
        // No ranking is longer than the pool.
        let depth = min(c.rerank ? max(c.k, rerankDepth) : c.k, r.entryCount)
        let fused = c.variant.usesFusionWeight
        var m: Int
        if fused {
            let w = Float(c.fusionWeight)
            let inputs = c.variant == .hybrid ? convexInputs : reciprocalRankInputs
            inputs.withUnsafeBufferPointer { all in
                let x = all.baseAddress! + r.entryStart
                for p in 0..<pool.count {
                    let score = max(Fusion.convex(lexical: x[p].x, dense: x[p].y, weight: w), 0)
                    ws.keys[p] = UInt64(score.bitPattern) << 32 | UInt64(UInt32.max - UInt32(bitPattern: pool[p].document))
                }
            }
            m = depth
        } else {
            m = min(depth, c.variant == .bm25 ? r.lexicalOrderCount : r.denseOrderCount)
        }
        guard m > 0 else { return (0, 0) }
        let threshold = fused ? Self.largest(m, of: ws.keys, count: pool.count, scratch: ws.scratch) : 0
        /// Whether pool position p is in the first stage's top m.
        @inline(__always) func isMember(_ p: Int) -> Bool {
            switch c.variant {
            case .bm25: pool[p].lexicalRank < Int32(m)
            case .dense: pool[p].denseRank < Int32(m)
            case .hybrid, .rrf: ws.keys[p] >= threshold
            }
        }
        /// Whether p comes before q in the first stage.
        @inline(__always) func precedes(_ p: Int32, _ q: Int32) -> Bool {
            switch c.variant {
            case .bm25: pool[Int(p)].lexicalRank < pool[Int(q)].lexicalRank
            case .dense: pool[Int(p)].denseRank < pool[Int(q)].denseRank
            case .hybrid, .rrf: ws.keys[Int(p)] > ws.keys[Int(q)]
            }
        }

        if !c.rerank {
            if fused {
                var n = 0
                for p in 0..<pool.count where ws.keys[p] >= threshold { ws.firstStage[n] = Int32(p); n += 1 }
                Self.insertionSort(ws.firstStage, count: n, by: precedes)
            } else {
                let start = c.variant == .bm25 ? r.lexicalOrderStart : r.denseOrderStart
                for j in 0..<m { ws.firstStage[j] = orders[start + j] }
            }
            return (m, 0)
        }
        let k = min(c.k, m)
        var n = 0
        var j = r.rerankOrderStart
        while n < k {
            let p = Int(orders[j])
            if isMember(p) { ws.firstStage[n] = Int32(p); n += 1 }
            j += 1
        }
        // Equal re-ranker scores keep the first-stage order.
        Self.insertionSort(ws.firstStage, count: n) { p, q in
            let (a, b) = (pool[Int(p)].rerankScore, pool[Int(q)].rerankScore)
            return a > b || (a == b && precedes(p, q))
        }
        return (n, m)
    }

    /// The m-th largest of `count` distinct keys: for small m by keeping the top m sorted in
    /// `scratch` (most keys fail the first comparison), otherwise by quickselect on a copy.
    private static func largest(_ m: Int, of keys: UnsafeMutablePointer<UInt64>, count: Int, scratch: UnsafeMutablePointer<UInt64>) -> UInt64 {
        if m <= 10 {
            var n = 0
            for i in 0..<count {
                let key = keys[i]
                if n == m {
                    guard key > scratch[m - 1] else { continue }
                    n -= 1
                }
                var j = n
                while j > 0 && scratch[j - 1] < key {
                    scratch[j] = scratch[j - 1]
                    j -= 1
                }
                scratch[j] = key
                n += 1
            }
            return scratch[m - 1]
        }
        scratch.update(from: keys, count: count)
        var low = 0
        var high = count - 1
        let target = m - 1  // index in descending order
        while low < high {
            let pivot = scratch[(low + high) / 2]
            var i = low
            var j = high
            while i <= j {
                while scratch[i] > pivot { i += 1 }
                while scratch[j] < pivot { j -= 1 }
                if i <= j {
                    (scratch[i], scratch[j]) = (scratch[j], scratch[i])
                    i += 1
                    j -= 1
                }
            }
            if target <= j { high = j } else if target >= i { low = i } else { break }
        }
        return scratch[target]
    }

    private static func insertionSort(_ items: UnsafeMutablePointer<Int32>, count: Int, by before: (Int32, Int32) -> Bool) {
        guard count > 1 else { return }
        for j in 1..<count {
            let item = items[j]
            var i = j
            while i > 0 && before(item, items[i - 1]) {
                items[i] = items[i - 1]
                i -= 1
            }
            items[i] = item
        }
    }

    private func score(
        _ r: QueryRecord, pool: UnsafeBufferPointer<Entry>, configuration c: RAGSettings, finalCount n: Int,
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
        let relevancy = GoldJudge.relevancy(
            gradesByRank: UnsafeBufferPointer(start: ws.gradesByRank, count: slots), relevantCount: r.relevantCount, totalGrade: r.relevantTotalGrade)

        let answer = best >= 0 ? pool[Int(ws.firstStage[Int(ws.context[best])])] : nil
        let sourceGrade = answer?.grade ?? 0
        let recall = answer.map { truncated ? $0.truncatedRecall : $0.fullRecall } ?? 0
        let f1 = answer.map { truncated ? $0.truncatedF1 : $0.fullF1 } ?? 0
        let outputTokens = answer.map { Int(truncated ? $0.truncatedOutputTokens : $0.fullOutputTokens) } ?? 0
        let inputTokens = r.baseInputTokens + contextTokens
        let model = system.costModel
        let stages = r.times.stageTimes(passages: slots)
        return QueryOutcome(
            query: r.query,
            ndcgAt10: r.idealDCG10 > 0 ? dcg / r.idealDCG10 : 0,
            recallAt10: r.relevantCount > 0 ? Double(found) / Double(r.relevantCount) : 0,
            faithfulness: GoldJudge.faithfulness(sourceGrade: sourceGrade, maxGrade: r.relevantMaxGrade, answerRecall: r.hasAnswers ? recall : nil),
            relevancy: relevancy,
            answerF1: r.hasAnswers ? f1 : nil,
            latencyMilliseconds: QueryCost.latency(
                stages: stages, configuration: c, rerankCandidates: rerankCandidates,
                inputTokens: inputTokens, outputTokens: outputTokens, model: model),
            costUSD: model.costUSD(inputTokens: inputTokens, outputTokens: outputTokens),
            inputTokens: inputTokens, outputTokens: outputTokens,
            failed: answer == nil,
            violation: answer.map { truncated ? $0.truncatedViolation : $0.fullViolation } ?? false)
    }
}
