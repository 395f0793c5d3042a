/// A read-only window on row-major `Float` data: `rows × cols` values, consecutive rows
/// `rowStride` elements apart (BLAS's leading dimension). Slicing a view never copies.
///
/// A view borrows memory it does not own: it is valid only while the owner keeps it alive.
public struct MatrixView {
    public let base: UnsafePointer<Float>
    public let rows: Int
    public let cols: Int
    public let rowStride: Int

    public init(base: UnsafePointer<Float>, rows: Int, cols: Int, rowStride: Int? = nil) {
        let stride = rowStride ?? cols
        precondition(rows >= 0 && cols >= 0 && stride >= cols,
                     "Invalid view \(rows)x\(cols) with row stride \(stride)")
        self.base = base
        self.rows = rows
        self.cols = cols
        self.rowStride = stride
    }

    @inline(__always)
    public subscript(row: Int, col: Int) -> Float {
        assert(row >= 0 && row < rows && col >= 0 && col < cols, "matrix view [\(row), \(col)] outside \(rows)x\(cols)")
        return base[row * rowStride + col]
    }

    /// The rows in `range`, sharing memory with this view.
    public func rows(_ range: Range<Int>) -> MatrixView {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows, "Row range \(range) outside 0..<\(rows)")
        return MatrixView(base: base + range.lowerBound * rowStride, rows: range.count, cols: cols, rowStride: rowStride)
    }

    /// The columns in `range`, sharing memory with this view.
    public func columns(_ range: Range<Int>) -> MatrixView {
        precondition(range.lowerBound >= 0 && range.upperBound <= cols, "Column range \(range) outside 0..<\(cols)")
        return MatrixView(base: base + range.lowerBound, rows: rows, cols: range.count, rowStride: rowStride)
    }

    public var isContiguous: Bool { rowStride == cols || rows <= 1 }

    public func toMatrix() -> Matrix {
        var storage = [Float]()
        storage.reserveCapacity(rows * cols)
        for r in 0..<rows {
            storage.append(contentsOf: UnsafeBufferPointer(start: base + r * rowStride, count: cols))
        }
        return Matrix(rows: rows, cols: cols, storage: storage)
    }
}

/// A writable window on row-major `Float` data; see ``MatrixView``.
public struct MutableMatrixView {
    /// The same window, read-only.
    public let readOnly: MatrixView

    @inlinable public var base: UnsafeMutablePointer<Float> { UnsafeMutablePointer(mutating: readOnly.base) }
    @inlinable public var rows: Int { readOnly.rows }
    @inlinable public var cols: Int { readOnly.cols }
    @inlinable public var rowStride: Int { readOnly.rowStride }

    public init(base: UnsafeMutablePointer<Float>, rows: Int, cols: Int, rowStride: Int? = nil) {
        readOnly = MatrixView(base: base, rows: rows, cols: cols, rowStride: rowStride)
    }

    /// A window on memory that `view` shows and the caller may write.
    init(mutating view: MatrixView) { readOnly = view }

    @inline(__always)
    public subscript(row: Int, col: Int) -> Float {
        get { readOnly[row, col] }
        nonmutating set {
            assert(row >= 0 && row < rows && col >= 0 && col < cols, "matrix view [\(row), \(col)] outside \(rows)x\(cols)")
            base[row * rowStride + col] = newValue
        }
    }

    /// The rows in `range`, sharing memory with this view.
    public func rows(_ range: Range<Int>) -> MutableMatrixView { MutableMatrixView(mutating: readOnly.rows(range)) }

    /// The columns in `range`, sharing memory with this view.
    public func columns(_ range: Range<Int>) -> MutableMatrixView { MutableMatrixView(mutating: readOnly.columns(range)) }

    public var isContiguous: Bool { readOnly.isContiguous }

    /// Sets every element to `value`.
    public func fill(_ value: Float) {
        if isContiguous {
            base.update(repeating: value, count: rows * cols)
            return
        }
        for r in 0..<rows {
            (base + r * rowStride).update(repeating: value, count: cols)
        }
    }

    /// Copies `source`, which must have this view's shape.
    public func copy(from source: MatrixView) {
        precondition(source.rows == rows && source.cols == cols,
                     "copy: shape \(source.rows)x\(source.cols) into \(rows)x\(cols)")
        // One move for contiguous blocks: a move per row costs a call per row (2,048 for a batch).
        if rowStride == cols && source.rowStride == cols {
            base.update(from: source.base, count: rows * cols)
            return
        }
        for r in 0..<rows {
            (base + r * rowStride).update(from: source.base + r * source.rowStride, count: cols)
        }
    }
}
