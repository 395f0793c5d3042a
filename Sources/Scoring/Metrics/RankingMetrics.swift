import Foundation

/// Ranking metrics against graded qrels, computed the way trec_eval / pytrec_eval compute them
/// (the BEIR reference): gain = the qrels grade, discount log2(rank + 1), the ideal ranking from
/// every judged-relevant document of the query.
public enum RankingMetrics {
    /// nDCG@k of `ranking` (document indices, best first). 0 when the query has no relevant
    /// document.
    public static func ndcg(_ ranking: some Collection<Int32>, grades: [Int32: Float], k: Int) -> Double {
        var dcg = 0.0
        for (i, d) in ranking.prefix(k).enumerated() {
            if let g = grades[d] { dcg += Double(g) / log2(Double(i) + 2) }
        }
        let ideal = idealDCG(grades: grades, k: k)
        return ideal > 0 ? dcg / ideal : 0
    }

    public static func idealDCG(grades: [Int32: Float], k: Int) -> Double {
        var sorted = grades.values.sorted(by: >)
        if sorted.count > k { sorted.removeLast(sorted.count - k) }
        return sorted.enumerated().reduce(0.0) { $0 + Double($1.element) / log2(Double($1.offset) + 2) }
    }

    /// Fraction of the relevant documents found in the top k (binary, as trec_eval's recall_k).
    public static func recall(_ ranking: some Collection<Int32>, grades: [Int32: Float], k: Int) -> Double {
        guard !grades.isEmpty else { return 0 }
        let found = ranking.prefix(k).reduce(0) { $0 + (grades[$1] != nil ? 1 : 0) }
        return Double(found) / Double(grades.count)
    }
}
