import CBLASLAPACK

/// Thin, shape-checked entry points into OpenBLAS.
///
/// Every wrapper checks shapes with `precondition` and names the operands in its message, so a
/// shape bug fails loudly at the call instead of reading out of bounds inside BLAS.
public enum BLAS {
    /// Sets the number of OpenBLAS worker threads. Small matrices (PPO's 64-wide layers) and
    /// servers want 1: threading overhead dominates and results then depend on the schedule.
    public static func setThreads(_ count: Int) {
        openblas_set_num_threads(Int32(count))
    }

    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// OpenBLAS's build configuration and the CPU kernel it picked at run time, recorded with
    /// runs because results differ in the last bits across kernels.
    public static var configuration: String {
        let config = openblas_get_config().map { String(cString: $0) } ?? "unknown"
        let core = openblas_get_corename().map { String(cString: $0) } ?? "unknown"
        return "\(config) core=\(core)"
    }

    /// `C ← alpha · op(A) · op(B) + beta · C` (row-major `cblas_sgemm`).
    public static func gemm(
        _ a: MatrixView, transposeA: Bool = false,
        _ b: MatrixView, transposeB: Bool = false,
        into c: MutableMatrixView, alpha: Float = 1, beta: Float = 0
    ) {
        let m = transposeA ? a.cols : a.rows
        let k = transposeA ? a.rows : a.cols
        let kb = transposeB ? b.cols : b.rows
        let n = transposeB ? b.rows : b.cols
        precondition(k == kb, "gemm: op(A) is \(m)x\(k) but op(B) is \(kb)x\(n)")
        precondition(c.rows == m && c.cols == n, "gemm: C is \(c.rows)x\(c.cols), expected \(m)x\(n)")
        guard m > 0 && n > 0 else { return }
        guard k > 0 else {
            scaleRows(c, by: beta)
            return
        }
        // For beta = 0 OpenBLAS zeroes C with its scalar `beta` kernel, which cost 11% of a PPO
        // update on 64-wide layers; libc's vectorised fill followed by beta = 1 does the same work
        // faster (beta = 1 skips that kernel).
        var effectiveBeta = beta
        if beta == 0 {
            c.fill(0)
            effectiveBeta = 1
        }
        cblas_sgemm(
            CblasRowMajor,
            transposeA ? CblasTrans : CblasNoTrans,
            transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k),
            alpha, a.base, Int32(a.rowStride),
            b.base, Int32(b.rowStride),
            effectiveBeta, c.base, Int32(c.rowStride)
        )
    }

    /// `y ← alpha · op(A) · x + beta · y` (row-major `cblas_sgemv`).
    public static func gemv(
        _ a: MatrixView, transpose: Bool = false,
        _ x: UnsafePointer<Float>, xCount: Int,
        into y: UnsafeMutablePointer<Float>, yCount: Int,
        alpha: Float = 1, beta: Float = 0
    ) {
        let inner = transpose ? a.rows : a.cols
        let outer = transpose ? a.cols : a.rows
        precondition(xCount == inner, "gemv: op(A) has \(inner) columns but x has \(xCount) values")
        precondition(yCount == outer, "gemv: op(A) has \(outer) rows but y has \(yCount) values")
        guard a.rows > 0 && a.cols > 0 else {
            for i in 0..<yCount { y[i] *= beta }
            return
        }
        cblas_sgemv(
            CblasRowMajor, transpose ? CblasTrans : CblasNoTrans,
            Int32(a.rows), Int32(a.cols), alpha, a.base, Int32(a.rowStride),
            x, 1, beta, y, 1
        )
    }

    /// `y ← alpha · x + y`.
    public static func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        cblas_saxpy(Int32(count), alpha, x, 1, y, 1)
    }

    /// `x ← alpha · x`.
    public static func scale(_ x: UnsafeMutablePointer<Float>, by alpha: Float, count: Int) {
        cblas_sscal(Int32(count), alpha, x, 1)
    }

    /// `xᵀy`.
    public static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int) -> Float {
        cblas_sdot(Int32(count), x, 1, y, 1)
    }

    private static func scaleRows(_ c: MutableMatrixView, by beta: Float) {
        for r in 0..<c.rows {
            scale(c.base + r * c.rowStride, by: beta, count: c.cols)
        }
    }
}

extension Array where Element == Float {
    /// `self ← alpha · x + self`.
    public mutating func axpy(_ alpha: Float, _ x: [Float]) {
        precondition(x.count == count, "axpy: \(x.count) values added to \(count)")
        let n = count
        x.withUnsafeBufferPointer { xs in
            withUnsafeMutableBufferPointer { ys in BLAS.axpy(alpha, xs.baseAddress!, ys.baseAddress!, count: n) }
        }
    }

    public mutating func scale(by alpha: Float) {
        let n = count
        withUnsafeMutableBufferPointer { BLAS.scale($0.baseAddress!, by: alpha, count: n) }
    }

    public func dot(_ other: [Float]) -> Float {
        precondition(other.count == count, "dot: \(count) values against \(other.count)")
        return withUnsafeBufferPointer { xs in
            other.withUnsafeBufferPointer { ys in BLAS.dot(xs.baseAddress!, ys.baseAddress!, count: xs.count) }
        }
    }
}
