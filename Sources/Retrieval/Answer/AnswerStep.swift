/// The extractive answer step that stands in for the generator: the answer is the context
/// sentence that best covers the question, by idf-weighted query-term coverage
///
///   support(s) = Σ_{t ∈ q ∩ s} idf(t) / Σ_{t ∈ q} idf(t)   (distinct terms),
///
/// multiplied by the attention the generator pays to the sentence's position in the context.
/// Generators read the middle of long contexts worst (Liu et al. 2023, "Lost in the Middle"), so
/// a passage at relative position x ∈ [0, 1] gets weight 1 − (1 − m)·(1 − |2x − 1|), where m is
/// the attention at the very middle (`middleAttention`; 1 turns the effect off).
public struct AnswerStep: Sendable {
    public var middleAttention: Float

    public init(middleAttention: Float = 0.8) {
        self.middleAttention = middleAttention
    }

    public struct Answer: Sendable, Equatable {
        /// Position of the source passage in the context, and the sentence within the passage.
        public var slot: Int
        public var sentence: Int
        /// Coverage × position weight.
        public var score: Float
    }

    @inlinable
    public func positionWeight(_ position: Int, of count: Int) -> Float {
        guard count > 1 else { return 1 }
        let x = Float(position) / Float(count - 1)
        return 1 - (1 - middleAttention) * (1 - abs(2 * x - 1))
    }

    /// The query's distinct terms with their idf, and the idf mass they sum to.
    public static func queryWeights(_ terms: [(term: Int32, count: Float)], index: BM25Index) -> QueryWeights {
        let pairs = terms.map { ($0.term, index.inverseDocumentFrequency($0.term)) }.sorted { $0.0 < $1.0 }
        return QueryWeights(terms: pairs.map(\.0), idf: pairs.map(\.1), total: pairs.reduce(0) { $0 + $1.1 })
    }

    public struct QueryWeights: Sendable {
        public var terms: [Int32]
        public var idf: [Float]
        public var total: Float
    }

    /// support(s) for one sentence (both term lists sorted).
    public static func support(_ sentence: [Int32], _ query: QueryWeights) -> Float {
        guard query.total > 0 else { return 0 }
        var i = 0
        var j = 0
        var covered: Float = 0
        while i < sentence.count && j < query.terms.count {
            if sentence[i] == query.terms[j] { covered += query.idf[j]; i += 1; j += 1 }
            else if sentence[i] < query.terms[j] { i += 1 }
            else { j += 1 }
        }
        return covered / query.total
    }

    /// The best of a passage's first `visible` sentences (all when nil): index and support; the
    /// earliest wins ties. nil when the passage shows no sentence.
    public static func bestSentence(
        in document: Int, visible: Int?, sentences: PassageSentences, query: QueryWeights
    ) -> (sentence: Int, support: Float)? {
        let all = sentences.passages[document]
        let count = min(visible ?? all.count, all.count)
        guard count > 0 else { return nil }
        var best = (sentence: 0, support: support(all[0].terms, query))
        for s in 1..<count {
            let value = support(all[s].terms, query)
            if value > best.support { best = (s, value) }
        }
        return best
    }

    /// The answer for a context; the earliest slot wins ties.
    public func answer(context: [PromptTemplate.Slot], sentences: PassageSentences, query: QueryWeights) -> Answer? {
        var best: Answer?
        for (position, slot) in context.enumerated() {
            guard let candidate = Self.bestSentence(in: Int(slot.document), visible: slot.visibleSentences, sentences: sentences, query: query) else { continue }
            let score = candidate.support * positionWeight(position, of: context.count)
            if best == nil || score > best!.score { best = Answer(slot: position, sentence: candidate.sentence, score: score) }
        }
        return best
    }
}
