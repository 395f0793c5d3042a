import Foundation

/// Row and column reductions and the numerically stable (log-)softmax over rows.
extension MatrixView {
    /// Sum of each row: `rows` values.
    public func rowSums() -> [Float] {
        (0..<rows).map { r in
            var sum: Float = 0
            let row = base + r * rowStride
            for c in 0..<cols { sum += row[c] }
            return sum
        }
    }

    /// Sum of each column: `cols` values.
    public func columnSums() -> [Float] {
        var sums = [Float](repeating: 0, count: cols)
        sums.withUnsafeMutableBufferPointer { out in addColumnSums(into: out.baseAddress!) }
        return sums
    }

    /// `out[c] += Σ_r self[r, c]` — the bias gradient of a batch.
    public func addColumnSums(into out: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let row = base + r * rowStride
            for c in 0..<cols { out[c] += row[c] }
        }
    }

    /// Largest value of each row.
    public func rowMaxima() -> [Float] {
        precondition(cols > 0, "rowMaxima of a matrix with no columns")
        return (0..<rows).map { r in
            let row = base + r * rowStride
            var best = row[0]
            for c in 1..<cols where row[c] > best { best = row[c] }
            return best
        }
    }

    /// Index of the largest value of each row (the first one on ties).
    public func rowArgmax() -> [Int] {
        precondition(cols > 0, "rowArgmax of a matrix with no columns")
        return (0..<rows).map { r in
            let row = base + r * rowStride
            var best = 0
            for c in 1..<cols where row[c] > row[best] { best = c }
            return best
        }
    }
}

public enum Softmax {
    /// Softmax of each row of `logits` into `out` (same shape; may alias). Subtracting the row
    /// maximum first keeps `exp` finite for any finite logits.
    public static func rows(_ logits: MatrixView, into out: MutableMatrixView) {
        precondition(logits.rows == out.rows && logits.cols == out.cols, "softmax: shape mismatch")
        for r in 0..<logits.rows {
            softmax(logits.base + r * logits.rowStride, into: out.base + r * out.rowStride, count: logits.cols)
        }
    }

    /// Log-softmax of each row: `x − max − log Σ exp(x − max)`, exact for large logits where
    /// `log(softmax(x))` would underflow to `-inf`.
    public static func logRows(_ logits: MatrixView, into out: MutableMatrixView) {
        precondition(logits.rows == out.rows && logits.cols == out.cols, "logSoftmax: shape mismatch")
        for r in 0..<logits.rows {
            logSoftmax(logits.base + r * logits.rowStride, into: out.base + r * out.rowStride, count: logits.cols)
        }
    }

    public static func softmax(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        guard count > 0 else { return }
        var maximum = x[0]
        for i in 1..<count where x[i] > maximum { maximum = x[i] }
        var sum: Float = 0
        for i in 0..<count {
            let e = Foundation.exp(x[i] - maximum)
            y[i] = e
            sum += e
        }
        let inverse = 1 / sum
        for i in 0..<count { y[i] *= inverse }
    }

    public static func logSoftmax(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        guard count > 0 else { return }
        var maximum = x[0]
        for i in 1..<count where x[i] > maximum { maximum = x[i] }
        var sum: Float = 0
        for i in 0..<count { sum += Foundation.exp(x[i] - maximum) }
        // (x − max) first: exact for nearby values, so large logits keep their precision.
        let logSum = Foundation.log(sum)
        for i in 0..<count { y[i] = (x[i] - maximum) - logSum }
    }
}

extension Matrix {
    public func softmaxRows() -> Matrix {
        var out = Matrix(rows: rows, cols: cols)
        withView { x in out.withMutableView { Softmax.rows(x, into: $0) } }
        return out
    }

    public func logSoftmaxRows() -> Matrix {
        var out = Matrix(rows: rows, cols: cols)
        withView { x in out.withMutableView { Softmax.logRows(x, into: $0) } }
        return out
    }

    public func rowSums() -> [Float] { withView { $0.rowSums() } }
    public func columnSums() -> [Float] { withView { $0.columnSums() } }
}
