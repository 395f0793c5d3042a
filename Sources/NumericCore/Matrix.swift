/// A row-major matrix of `Float` over one contiguous, copy-on-write array.
///
/// Hot code does not index a `Matrix` element by element: it borrows a ``MatrixView`` or a
/// ``MutableMatrixView`` (pointer, shape, row stride) and hands that to BLAS or a SIMD loop.
public struct Matrix: Sendable, Equatable {
    public let rows: Int
    public let cols: Int
    public var storage: [Float]

    public init(rows: Int, cols: Int, repeating value: Float = 0) {
        precondition(rows >= 0 && cols >= 0, "Matrix shape must be non-negative, got \(rows)x\(cols)")
        self.rows = rows
        self.cols = cols
        self.storage = [Float](repeating: value, count: rows * cols)
    }

    public init(rows: Int, cols: Int, storage: [Float]) {
        precondition(storage.count == rows * cols,
                     "Matrix \(rows)x\(cols) needs \(rows * cols) values, got \(storage.count)")
        self.rows = rows
        self.cols = cols
        self.storage = storage
    }

    /// Builds a matrix from nested rows; every row must have the same length.
    public init(_ nested: [[Float]]) {
        let cols = nested.first?.count ?? 0
        precondition(nested.allSatisfy { $0.count == cols }, "Matrix rows have different lengths")
        self.init(rows: nested.count, cols: cols, storage: nested.flatMap { $0 })
    }

    public var count: Int { rows * cols }

    public subscript(row: Int, col: Int) -> Float {
        get { storage[row * cols + col] }
        set { storage[row * cols + col] = newValue }
    }

    public func row(_ index: Int) -> ArraySlice<Float> {
        storage[index * cols ..< (index + 1) * cols]
    }

    public func withView<R>(_ body: (MatrixView) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer { buffer in
            try body(MatrixView(base: buffer.baseAddress!, rows: rows, cols: cols, rowStride: cols))
        }
    }

    public mutating func withMutableView<R>(_ body: (MutableMatrixView) throws -> R) rethrows -> R {
        let (rows, cols) = (self.rows, self.cols)
        return try storage.withUnsafeMutableBufferPointer { buffer in
            try body(MutableMatrixView(base: buffer.baseAddress!, rows: rows, cols: cols, rowStride: cols))
        }
    }

    public func transposed() -> Matrix {
        var result = Matrix(rows: cols, cols: rows)
        for r in 0..<rows {
            for c in 0..<cols { result[c, r] = self[r, c] }
        }
        return result
    }

    /// `op(self) · op(other)` through `cblas_sgemm`.
    public func multiplied(by other: Matrix, transposeSelf: Bool = false, transposeOther: Bool = false) -> Matrix {
        let m = transposeSelf ? cols : rows
        let n = transposeOther ? other.rows : other.cols
        var result = Matrix(rows: m, cols: n)
        withView { a in
            other.withView { b in
                result.withMutableView { c in
                    BLAS.gemm(a, transposeA: transposeSelf, b, transposeB: transposeOther, into: c)
                }
            }
        }
        return result
    }

    public func map(_ transform: (Float) -> Float) -> Matrix {
        Matrix(rows: rows, cols: cols, storage: storage.map(transform))
    }
}

extension Matrix {
    /// The rows of `parts` one after another (all with the same number of columns).
    public static func stacking(_ parts: [Matrix]) -> Matrix {
        guard let cols = parts.first?.cols else { return Matrix(rows: 0, cols: 0) }
        precondition(parts.allSatisfy { $0.cols == cols }, "stacking matrices of different widths")
        return Matrix(rows: parts.reduce(0) { $0 + $1.rows }, cols: cols, storage: parts.flatMap(\.storage))
    }
}
