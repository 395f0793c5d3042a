import Foundation
import NumericCore
import Retrieval
import Testing

@Suite struct IndexTests {
    @Test func topKAgreesWithAFullSortOnRandomScoresWithTies() {
        var rng = RandomGenerator(seed: 3)
        for trial in 0..<50 {
            let n = 1 + rng.bounded(300)
            let scores = (0..<n).map { _ in Float(rng.bounded(40)) / 4 }  // many ties
            let k = 1 + rng.bounded(40)
            let expected = scores.enumerated().map { ScoredDocument(document: Int32($0.offset), score: $0.element) }
                .sorted(by: ScoredDocument.ranksBefore).prefix(k)
            let selected = scores.withUnsafeBufferPointer { TopK.select($0, k: k) }
            #expect(selected == Array(expected), "trial \(trial)")
        }
    }

    /// BM25 against a hand computation on three documents (k1 = 1.2, b = 0.75).
    @Test func bm25ScoresMatchTheFormula() {
        let documents = ["apple banana apple", "banana cherry", "cherry cherry cherry durian"]
        let index = BM25Index(documents: documents, parameters: .init(k1: 1.2, b: 0.75), analyzer: Analyzer(removesStopWords: false, stems: false))
        let scores = index.scores(for: "apple cherry")
        let n = 3.0
        let average = (3.0 + 2 + 4) / 3
        func idf(_ df: Double) -> Double { log(1 + (n - df + 0.5) / (df + 0.5)) }
        func term(_ tf: Double, _ length: Double, _ df: Double) -> Double {
            idf(df) * tf / (tf + 1.2 * (1 - 0.75 + 0.75 * length / average))
        }
        #expect(abs(Double(scores[0]) - term(2, 3, 1)) < 1e-5)
        #expect(abs(Double(scores[1]) - term(1, 2, 2)) < 1e-5)
        #expect(abs(Double(scores[2]) - term(3, 4, 2)) < 1e-5)
        #expect(index.search("apple cherry", k: 2).map(\.document) == [0, 2])
        #expect(index.search("zebra", k: 5).isEmpty)
    }

    @Test func fusionNormalisesAndCombines() {
        #expect(Fusion.minMax([2, 4, 6]) == [0, 0.5, 1])
        #expect(Fusion.minMax([3, 3]) == [0, 0])
        #expect(Fusion.convex(lexical: 1, dense: 0, weight: 0.25) == 0.75)
        let rrf = Fusion.reciprocalRank(lexicalRank: 0, denseRank: 2, weight: 0.5)
        #expect(abs(rrf - (0.5 / 61 + 0.5 / 63)) < 1e-7)
        #expect(Fusion.reciprocalRank(lexicalRank: CandidatePool.unranked, denseRank: 0, weight: 1) == 1 / Float(61))
    }

    /// The randomised SVD must recover the leading singular values that LAPACK's full SVD finds.
    @Test func randomisedSVDMatchesTheFullDecomposition() throws {
        var rng = RandomGenerator(seed: 5)
        // A 60 × 40 matrix of rank ≈ 6 plus small noise.
        let left = Matrix(rows: 60, cols: 6, storage: (0..<360).map { _ in Float(rng.normal()) })
        let right = Matrix(rows: 6, cols: 40, storage: (0..<240).map { _ in Float(rng.normal()) })
        var a = left.multiplied(by: right)
        for i in 0..<a.count { a.storage[i] += Float(rng.normal()) * 0.01 }
        let full = try LinearAlgebra.singularValueDecomposition(a)
        var parameters = LatentSemanticIndex.Parameters()
        parameters.oversampling = 4
        let truncated = try LatentSemanticIndex.truncatedSVD(a, rank: 6, parameters: parameters)
        for i in 0..<6 { #expect(abs(truncated.s[i] - full.s[i]) / full.s[i] < 1e-3) }
    }
}
