import Foundation
import NumericCore
import Retrieval
import Scoring
import Testing

/// The retrieval targets on SciFact's BEIR test split, against the published references.
@Suite(.serialized) struct RetrievalQualityTests {
    static func meanNDCG(_ rankings: [Int: [Int32]], dataset: Dataset, split: String) throws -> Double {
        let qrels = try dataset.qrels(split)
        var total = 0.0
        for q in qrels.queries {
            var grades: [Int32: Float] = [:]
            for j in qrels.relevant(to: q) { grades[Int32(j.document)] = j.grade }
            total += RankingMetrics.ndcg(rankings[q] ?? [], grades: grades, k: 10)
        }
        return total / Double(qrels.queries.count)
    }

    /// BEIR's BM25 baseline on SciFact is 0.665 (Lucene, k1 = 0.9, b = 0.4); ours must reach 0.66.
    @Test func bm25OnSciFactTestReachesTheBEIRBaseline() throws {
        let dataset = try SharedDatasets.load("scifact")
        let index = BM25Index(documents: dataset.documents.map(\.indexedText), parameters: .init(k1: 0.9, b: 0.4))
        let qrels = try dataset.qrels("test")
        var rankings: [Int: [Int32]] = [:]
        for q in qrels.queries { rankings[q] = index.search(dataset.queries[q].text, k: 10).map(\.document) }
        let ndcg = try Self.meanNDCG(rankings, dataset: dataset, split: "test")
        print("SciFact test BM25 nDCG@10 = \(ndcg)")
        #expect(qrels.queries.count == 300)
        #expect(ndcg >= 0.66)
    }

    /// pytrec_eval on the same MiniLM embeddings gives 0.645; exact cosine search must agree
    /// within 0.005.
    @Test func denseMiniLMOnSciFactTestMatchesTheReference() throws {
        let dataset = try SharedDatasets.load("scifact")
        let embeddings = try #require(dataset.embeddings)
        let index = DenseIndex(label: embeddings.model, documents: embeddings.documents)
        let qrels = try dataset.qrels("test")
        var queryRows = Matrix(rows: qrels.queries.count, cols: embeddings.dimension)
        for (row, q) in qrels.queries.enumerated() {
            for c in 0..<embeddings.dimension { queryRows[row, c] = embeddings.queries[q, c] }
        }
        let results = index.search(queries: queryRows, k: 10)
        var rankings: [Int: [Int32]] = [:]
        for (row, q) in qrels.queries.enumerated() { rankings[q] = results[row].map(\.document) }
        let ndcg = try Self.meanNDCG(rankings, dataset: dataset, split: "test")
        print("SciFact test MiniLM nDCG@10 = \(ndcg)")
        #expect(abs(ndcg - 0.645) <= 0.005)
    }
}
