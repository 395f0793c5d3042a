import Foundation

import NumericCore

/// The dense fallback for datasets without embeddings: latent semantic analysis. Documents
/// become TF-IDF rows (log-scaled term frequency × idf, L2-normalised) over the most frequent
/// terms; a rank-r truncated SVD A ≈ U Σ Vᵀ is computed by randomised range finding (Halko,
/// Martinsson & Tropp 2011: Gaussian sketch, power iterations, QR) followed by LAPACK's `sgesdd`
/// on the small projected matrix. Documents are the rows of U Σ and queries are folded in as
/// q·V, both L2-normalised, so cosine similarity is again a dot product.
///
/// It is not a neural embedding and is labelled "lsa-tfidf-rN" wherever it is used.
public struct LatentSemanticIndex: Sendable {
    public struct Parameters: Sendable {
        public var rank = 128
        public var maxTerms = 4096
        public var oversampling = 16
        public var powerIterations = 2
        public var seed: UInt64 = 1
        public init() {}
    }

    public let label: String
    private let analyzer: Analyzer
    private let termColumn: [String: Int]
    private let idf: [Float]
    /// V_r: maxTerms × rank, the term → latent projection.
    private let projection: Matrix
    public let documents: DenseIndex

    public init(documents texts: [String], parameters: Parameters = Parameters(), analyzer: Analyzer = Analyzer()) throws {
        self.analyzer = analyzer
        let analysed = texts.map { analyzer.terms($0) }
        var documentFrequency: [String: Int] = [:]
        for terms in analysed { for t in Set(terms) { documentFrequency[t, default: 0] += 1 } }
        // Terms seen in at least two documents, most frequent first (ties alphabetical).
        let kept = documentFrequency.filter { $0.value >= 2 }
            .sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .prefix(parameters.maxTerms)
        var termColumn: [String: Int] = [:]
        for (i, entry) in kept.enumerated() { termColumn[entry.key] = i }
        let n = Float(texts.count)
        let idf = kept.map { log(n / Float($0.value)) + 1 }
        self.termColumn = termColumn
        self.idf = idf

        let columns = max(termColumn.count, 1)
        var a = Matrix(rows: texts.count, cols: columns)
        for (d, terms) in analysed.enumerated() {
            Self.weigh(terms, termColumn: termColumn, idf: idf, into: &a.storage, offset: d * columns)
        }
        let rank = min(parameters.rank, texts.count, columns)
        let (u, s, vt) = try Self.truncatedSVD(a, rank: rank, parameters: parameters)
        var documentVectors = Matrix(rows: texts.count, cols: rank)
        for d in 0..<texts.count { for j in 0..<rank { documentVectors[d, j] = u[d, j] * s[j] } }
        Self.normalizeRows(&documentVectors)
        self.projection = vt.transposed()
        self.label = "lsa-tfidf-r\(rank)"
        self.documents = DenseIndex(label: label, documents: documentVectors)
    }

    /// Query vectors (rows), folded into the latent space and L2-normalised.
    public func embed(_ queries: [String]) -> Matrix {
        let columns = projection.rows
        var tfidf = Matrix(rows: queries.count, cols: columns)
        for (i, text) in queries.enumerated() {
            Self.weigh(analyzer.terms(text), termColumn: termColumn, idf: idf, into: &tfidf.storage, offset: i * columns)
        }
        var result = tfidf.multiplied(by: projection)
        Self.normalizeRows(&result)
        return result
    }

    private static func weigh(_ terms: [String], termColumn: [String: Int], idf: [Float], into storage: inout [Float], offset: Int) {
        var counts: [Int: Float] = [:]
        for t in terms { if let c = termColumn[t] { counts[c, default: 0] += 1 } }
        var norm: Float = 0
        // In column order: a dictionary's order changes between processes, and the norm's last bits with it.
        for (c, tf) in counts.sorted(by: { $0.key < $1.key }) {
            let w = (1 + log(tf)) * idf[c]
            storage[offset + c] = w
            norm += w * w
        }
        guard norm > 0 else { return }
        let inverse = 1 / norm.squareRoot()
        for c in counts.keys { storage[offset + c] *= inverse }
    }

    private static func normalizeRows(_ m: inout Matrix) {
        for r in 0..<m.rows {
            var norm: Float = 0
            for c in 0..<m.cols { norm += m[r, c] * m[r, c] }
            guard norm > 0 else { continue }
            let inverse = 1 / norm.squareRoot()
            for c in 0..<m.cols { m.storage[r * m.cols + c] *= inverse }
        }
    }

    /// Rank-r SVD of A (m × n) via a randomised range finder: Y = A Ω, then (A Aᵀ)^q Y with QR
    /// re-orthonormalisation between products, Q = orth(Y), B = Qᵀ A, B = Ũ Σ Vᵀ, U = Q Ũ.
    public static func truncatedSVD(_ a: Matrix, rank: Int, parameters: Parameters) throws -> (u: Matrix, s: [Float], vt: Matrix) {
        let (m, n) = (a.rows, a.cols)
        let l = min(rank + parameters.oversampling, m, n)
        var rng = RandomGenerator(seed: parameters.seed)
        var omega = Matrix(rows: n, cols: l)
        for i in 0..<omega.count { omega.storage[i] = Float(rng.normal()) }
        var y = a.multiplied(by: omega)
        try LinearAlgebra.orthonormalizeColumns(&y.storage, rows: m, cols: l)
        for _ in 0..<parameters.powerIterations {
            var z = a.multiplied(by: y, transposeSelf: true)
            try LinearAlgebra.orthonormalizeColumns(&z.storage, rows: n, cols: l)
            y = a.multiplied(by: z)
            try LinearAlgebra.orthonormalizeColumns(&y.storage, rows: m, cols: l)
        }
        let b = y.multiplied(by: a, transposeSelf: true)
        let (ub, s, vt) = try LinearAlgebra.singularValueDecomposition(b)
        let u = y.multiplied(by: ub)
        let r = min(rank, s.count)
        var uR = Matrix(rows: m, cols: r)
        var vtR = Matrix(rows: r, cols: n)
        for i in 0..<m { for j in 0..<r { uR[i, j] = u[i, j] } }
        for i in 0..<r { for j in 0..<n { vtR[i, j] = vt[i, j] } }
        return (uR, Array(s.prefix(r)), vtR)
    }
}
