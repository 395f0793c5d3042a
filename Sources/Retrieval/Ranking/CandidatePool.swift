/// One query's first-stage candidates: the union of the BM25 top-N and the dense top-N, each
/// with both retrievers' exact scores and ranks. Every variant (BM25, dense, hybrid, RRF) and the
/// re-ranker rank within this pool, so fusing two lists means fusing their top-N, as production
/// hybrid search does.
public struct CandidatePool: Sendable, Equatable {
    /// Rank given to a document outside a retriever's top-N.
    public static let unranked = Int32.max

    public var documents: [Int32] = []
    /// Raw BM25 scores and cosine similarities.
    public var lexical: [Float] = []
    public var dense: [Float] = []
    /// 0-based ranks in each retriever's full ranking, `unranked` beyond its top-N (or, for BM25,
    /// when the document matches no query term).
    public var lexicalRank: [Int32] = []
    public var denseRank: [Int32] = []
    /// Min–max normalised scores over the pool: (s − min) / (max − min), 0 when all are equal.
    public var lexicalNormalized: [Float] = []
    public var denseNormalized: [Float] = []
    /// Distinct query terms each document contains, over the query's distinct terms.
    public var coverage: [Float] = []
    /// Share of the query's idf mass found in each document's title (filled by the caller that
    /// knows the titles; zeros otherwise).
    public var titleCoverage: [Float] = []

    public init() {}

    /// Builds the pool from every document's scores: BM25 top `depth` with score > 0, dense top
    /// `depth`, union in that order.
    public init(
        lexicalScores: UnsafeBufferPointer<Float>, denseScores: UnsafeBufferPointer<Float>,
        matchedTerms: UnsafeBufferPointer<Float>, queryTermCount: Int, depth: Int
    ) {
        let lexicalTop = TopK.select(lexicalScores, k: depth).filter { $0.score > 0 }
        let denseTop = TopK.select(denseScores, k: depth)
        var position: [Int32: Int] = [:]
        func add(_ d: Int32) -> Int {
            if let p = position[d] { return p }
            let p = documents.count
            position[d] = p
            documents.append(d)
            lexical.append(lexicalScores[Int(d)])
            dense.append(denseScores[Int(d)])
            lexicalRank.append(Self.unranked)
            denseRank.append(Self.unranked)
            coverage.append(queryTermCount > 0 ? matchedTerms[Int(d)] / Float(queryTermCount) : 0)
            titleCoverage.append(0)
            return p
        }
        for (r, c) in lexicalTop.enumerated() { lexicalRank[add(c.document)] = Int32(r) }
        for (r, c) in denseTop.enumerated() { denseRank[add(c.document)] = Int32(r) }
        lexicalNormalized = Fusion.minMax(lexical)
        denseNormalized = Fusion.minMax(dense)
    }

    public var count: Int { documents.count }

    /// The pool restricted to the entries that satisfy `keep`, normalised scores unchanged.
    public func filter(_ keep: (_ entry: (lexicalRank: Int32, denseRank: Int32)) -> Bool) -> CandidatePool {
        let kept = (0..<count).filter { keep((lexicalRank[$0], denseRank[$0])) }
        var result = CandidatePool()
        result.documents = kept.map { documents[$0] }
        result.lexical = kept.map { lexical[$0] }
        result.dense = kept.map { dense[$0] }
        result.lexicalRank = kept.map { lexicalRank[$0] }
        result.denseRank = kept.map { denseRank[$0] }
        result.lexicalNormalized = kept.map { lexicalNormalized[$0] }
        result.denseNormalized = kept.map { denseNormalized[$0] }
        result.coverage = kept.map { coverage[$0] }
        result.titleCoverage = kept.map { titleCoverage[$0] }
        return result
    }
}

/// Score fusion for hybrid retrieval.
public enum Fusion {
    /// The constant k of reciprocal-rank fusion, 60 as in Cormack, Clarke & Büttcher (2009).
    public static let reciprocalRankConstant: Float = 60

    /// (s − min) / (max − min) over the given scores; all zeros when they are all equal.
    public static func minMax(_ scores: [Float]) -> [Float] {
        guard let low = scores.min(), let high = scores.max(), high > low else {
            return [Float](repeating: 0, count: scores.count)
        }
        let inverse = 1 / (high - low)
        return scores.map { ($0 - low) * inverse }
    }

    /// Convex combination of min–max normalised scores: (1 − w)·BM25 + w·dense.
    @inlinable
    public static func convex(lexical: Float, dense: Float, weight w: Float) -> Float {
        (1 - w) * lexical + w * dense
    }

    /// Weighted reciprocal-rank fusion: (1 − w)·RR(r_BM25) + w·RR(r_dense), a convex
    /// combination of the two lists' reciprocal-rank terms; w = 0.5 is plain RRF up to a factor
    /// of 2.
    @inlinable
    public static func reciprocalRank(lexicalRank: Int32, denseRank: Int32, weight w: Float) -> Float {
        convex(lexical: reciprocalRankTerm(lexicalRank), dense: reciprocalRankTerm(denseRank), weight: w)
    }

    /// 1 / (k + rank), rank 1-based (`rank` is 0-based); 0 for a list that does not rank the
    /// document.
    @inlinable
    public static func reciprocalRankTerm(_ rank: Int32) -> Float {
        rank == CandidatePool.unranked ? 0 : 1 / (reciprocalRankConstant + Float(rank) + 1)
    }
}
