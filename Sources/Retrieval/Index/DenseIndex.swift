import NumericCore

/// Exact nearest-neighbour search by cosine similarity over L2-normalised document vectors:
/// a batch of queries is scored against the whole corpus with one sgemm (Q · Dᵀ).
public struct DenseIndex: Sendable {
    /// What the vectors are: a shipped embedding model, or this project's LSA fallback.
    public var label: String
    public var documents: Matrix

    public init(label: String, documents: Matrix) {
        self.label = label
        self.documents = documents
    }

    public var documentCount: Int { documents.rows }
    public var dimension: Int { documents.cols }

    /// Scores of every document for every query row: a queries.rows × documentCount matrix.
    public func scores(queries: Matrix) -> Matrix {
        precondition(queries.cols == dimension, "queries have \(queries.cols) dimensions, the index \(dimension)")
        var result = Matrix(rows: queries.rows, cols: documentCount)
        queries.withView { q in
            documents.withView { d in
                result.withMutableView { r in BLAS.gemm(q, d, transposeB: true, into: r) }
            }
        }
        return result
    }

    /// The exact top k documents for each query row, best first.
    public func search(queries: Matrix, k: Int) -> [[ScoredDocument]] {
        let all = scores(queries: queries)
        return all.storage.withUnsafeBufferPointer { buffer in
            (0..<queries.rows).map { row in
                TopK.select(UnsafeBufferPointer(rebasing: buffer[(row * documentCount)..<((row + 1) * documentCount)]), k: k)
            }
        }
    }
}
