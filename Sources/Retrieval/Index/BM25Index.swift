import Foundation

/// Okapi BM25 over an inverted index, scored exactly over every matching document.
///
/// score(d, q) = Σ_{t ∈ q} qtf(t) · idf(t) · tf(t,d) / (tf(t,d) + k1 · (1 − b + b · |d| / avgdl))
/// with Lucene's idf(t) = ln(1 + (N − df(t) + 0.5) / (df(t) + 0.5)), the form the BEIR baselines
/// (Lucene / Elasticsearch) use. Lucene drops BM25's constant (k1 + 1) factor; rankings are the
/// same. A query term repeated in the query counts once per occurrence (qtf), as Lucene's
/// boolean query of the analysed terms does.
public final class BM25Index: @unchecked Sendable {
    public struct Parameters: Sendable, Equatable, Codable {
        public var k1: Float
        public var b: Float
        public init(k1: Float = 0.9, b: Float = 0.4) {
            self.k1 = k1
            self.b = b
        }
    }

    public let parameters: Parameters
    public let analyzer: Analyzer
    public let documentCount: Int
    public let averageLength: Float
    private let vocabulary: [String: Int32]
    /// Postings in CSR form: term t's documents and term frequencies are
    /// `postingDocuments[postingStart[t]..<postingStart[t + 1]]`.
    private let postingStart: [Int]
    private let postingDocuments: [Int32]
    private let postingFrequencies: [Float]
    private let idf: [Float]
    /// k1 · (1 − b + b · |d| / avgdl), precomputed per document.
    private let lengthNorm: [Float]
    public let documentLengths: [Int32]

    public init(documents: [String], parameters: Parameters = Parameters(), analyzer: Analyzer = Analyzer()) {
        self.parameters = parameters
        self.analyzer = analyzer
        var vocabulary: [String: Int32] = [:]
        var termDocs: [[Int32]] = []
        var termFreqs: [[Float]] = []
        var lengths: [Int32] = []
        lengths.reserveCapacity(documents.count)
        for (d, text) in documents.enumerated() {
            let terms = analyzer.terms(text)
            lengths.append(Int32(terms.count))
            var counts: [Int32: Float] = [:]
            for term in terms {
                let id: Int32
                if let existing = vocabulary[term] { id = existing } else {
                    id = Int32(vocabulary.count)
                    vocabulary[term] = id
                    termDocs.append([])
                    termFreqs.append([])
                }
                counts[id, default: 0] += 1
            }
            for (id, count) in counts {
                termDocs[Int(id)].append(Int32(d))
                termFreqs[Int(id)].append(count)
            }
        }
        var start = [0]
        start.reserveCapacity(termDocs.count + 1)
        for docs in termDocs { start.append(start.last! + docs.count) }
        self.vocabulary = vocabulary
        self.postingStart = start
        self.postingDocuments = termDocs.flatMap { $0 }
        self.postingFrequencies = termFreqs.flatMap { $0 }
        self.documentCount = documents.count
        self.documentLengths = lengths
        let total = lengths.reduce(0) { $0 + Double($1) }
        let average = documents.isEmpty ? 1 : Float(total / Double(documents.count))
        self.averageLength = max(average, 1e-6)
        let n = Float(documents.count)
        self.idf = termDocs.map { docs in
            let df = Float(docs.count)
            return log(1 + (n - df + 0.5) / (df + 0.5))
        }
        self.lengthNorm = lengths.map { parameters.k1 * (1 - parameters.b + parameters.b * Float($0) / average) }
    }

    /// The analysed query as (term id, occurrences), unknown terms dropped, in first-seen order.
    public func queryTerms(_ text: String) -> [(term: Int32, count: Float)] {
        var order: [Int32] = []
        var counts: [Int32: Float] = [:]
        for term in analyzer.terms(text) {
            guard let id = vocabulary[term] else { continue }
            if counts[id] == nil { order.append(id) }
            counts[id, default: 0] += 1
        }
        return order.map { ($0, counts[$0]!) }
    }

    public func termID(_ term: String) -> Int32? { vocabulary[term] }
    public func inverseDocumentFrequency(_ term: Int32) -> Float { idf[Int(term)] }

    /// BM25 scores of every document for the query, written into `scores` (count = N); documents
    /// that match no term score 0. `matchedTerms`, when given, receives how many distinct query
    /// terms each document contains.
    public func score(
        _ terms: [(term: Int32, count: Float)], into scores: UnsafeMutableBufferPointer<Float>,
        matchedTerms: UnsafeMutableBufferPointer<Float>? = nil
    ) {
        precondition(scores.count == documentCount, "scores has \(scores.count) slots for \(documentCount) documents")
        scores.initialize(repeating: 0)
        matchedTerms?.initialize(repeating: 0)
        for (term, count) in terms {
            let weight = idf[Int(term)] * count
            for p in postingStart[Int(term)]..<postingStart[Int(term) + 1] {
                let d = Int(postingDocuments[p])
                let tf = postingFrequencies[p]
                scores[d] += weight * tf / (tf + lengthNorm[d])
                matchedTerms?[d] += 1
            }
        }
    }

    public func scores(for text: String) -> [Float] {
        var result = [Float](repeating: 0, count: documentCount)
        let terms = queryTerms(text)
        result.withUnsafeMutableBufferPointer { score(terms, into: $0) }
        return result
    }

    /// The exact top k documents for the query, best first; documents matching no query term
    /// are not returned.
    public func search(_ text: String, k: Int) -> [ScoredDocument] {
        let all = scores(for: text)
        return all.withUnsafeBufferPointer { TopK.select($0, k: k) }.filter { $0.score > 0 }
    }
}
