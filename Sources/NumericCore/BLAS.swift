import CBLASLAPACK
import CNumericKernels

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
        if alpha == 1 && usesSmallKernel(m: m, n: n, k: k, transposeB: transposeB) {
            if beta != 0 && beta != 1 { scaleRows(c, by: beta) }
            smallGemm(a, transposeA: transposeA, b, transposeB: transposeB, into: c, m: m, n: n, k: k, accumulate: beta != 0)
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

    /// Products with at most this many columns, a multiple of 8 (whole vectors: narrower heads
    /// would run the kernel's scalar tail), go to the register-blocked kernel of
    /// CNumericKernels, which reads its operands in place: for the 64-wide layers of PPO
    /// networks OpenBLAS spends much of its time packing operands it uses once.
    static let smallGemmMaxColumns = 128
    /// A transposed B is copied row-major first, up to this many elements, for at least this many rows.
    static let smallGemmMaxTransposed = 1 << 16
    static let smallGemmMinRowsTransposed = 64

    /// Whether op(A)·op(B) with m rows, n columns and inner size k goes to the small-product
    /// kernel. A transposed B is copied first (k·n moves), which only pays for itself over
    /// enough rows: a rollout's forward pass at batch 8 stays with OpenBLAS.
    static func usesSmallKernel(m: Int, n: Int, k: Int, transposeB: Bool) -> Bool {
        n <= smallGemmMaxColumns && n % 8 == 0 && (!transposeB || (k * n <= smallGemmMaxTransposed && m >= smallGemmMinRowsTransposed))
    }

    /// C = op(A)·op(B), or C += op(A)·op(B) when `accumulate`, with the small-product kernel,
    /// then the epilogue on each final strip of rows.
    private static func smallGemm(_ a: MatrixView, transposeA: Bool, _ b: MatrixView, transposeB: Bool, into c: MutableMatrixView,
                                  m: Int, n: Int, k: Int, accumulate: Bool, epilogue: rt_epilogue? = nil) {
        let (rsa, csa) = transposeA ? (1, a.rowStride) : (a.rowStride, 1)
        func run(_ b: UnsafePointer<Float>, _ ldb: Int) {
            if var epilogue {
                rt_gemm_f32(m, n, k, a.base, rsa, csa, b, ldb, c.base, c.rowStride, accumulate ? 1 : 0, &epilogue)
            } else {
                rt_gemm_f32(m, n, k, a.base, rsa, csa, b, ldb, c.base, c.rowStride, accumulate ? 1 : 0, nil)
            }
        }
        guard transposeB else { return run(b.base, b.rowStride) }
        // op(B) = Bᵀ is k x n; B is n x k.
        AlignedStorage.withScratch(k * n) { bt in
            rt_transpose_f32(b.base, n, k, b.rowStride, bt)
            run(bt, n)
        }
    }

    /// `y ← f(x · Wᵀ + bias)`: a dense layer's forward pass, W stored outputs x inputs. Small
    /// layers run as one kernel that applies bias and activation to each strip of rows while it
    /// is still in L1.
    public static func denseForward(_ x: MatrixView, weight w: MatrixView, bias: UnsafePointer<Float>, activation: Activation,
                                    into y: MutableMatrixView) {
        precondition(x.cols == w.cols && y.rows == x.rows && y.cols == w.rows,
                     "dense: x is \(x.rows)x\(x.cols), W is \(w.rows)x\(w.cols), y is \(y.rows)x\(y.cols)")
        guard y.rows > 0 && y.cols > 0 && x.cols > 0 && usesSmallKernel(m: x.rows, n: w.rows, k: w.cols, transposeB: true) else {
            gemm(x, w, transposeB: true, into: y)
            activation.applyWithBias(y, bias: bias)
            return
        }
        smallGemm(x, transposeA: false, w, transposeB: true, into: y, m: x.rows, n: w.rows, k: w.cols, accumulate: false,
                  epilogue: rt_epilogue(activation: activation.kernelCode, bias: bias, output: nil, output_stride: 0, bias_gradient: nil))
    }

    /// `C ← (A · B) ⊙ f′`, then `biasGradient[c] += Σ_r C[r, c]`: backprop from one dense layer into
    /// the one below it, whose activation f produced `output`; small products fuse the two passes.
    public static func gemmThroughActivation(_ a: MatrixView, _ b: MatrixView, into c: MutableMatrixView, activation: Activation,
                                             output: MatrixView, biasGradient: UnsafeMutablePointer<Float>) {
        precondition(output.rows == c.rows && output.cols == c.cols, "backprop: output is \(output.rows)x\(output.cols), C is \(c.rows)x\(c.cols)")
        guard a.rows > 0 && b.cols > 0 && a.cols > 0 && usesSmallKernel(m: a.rows, n: b.cols, k: a.cols, transposeB: false) else {
            gemm(a, b, into: c)
            activation.backward(output: output, gradient: c, biasGradient: biasGradient)
            return
        }
        precondition(a.cols == b.rows && c.rows == a.rows && c.cols == b.cols, "gemm: A is \(a.rows)x\(a.cols), B is \(b.rows)x\(b.cols)")
        smallGemm(a, transposeA: false, b, transposeB: false, into: c, m: a.rows, n: b.cols, k: a.cols, accumulate: false,
                  epilogue: rt_epilogue(activation: activation.kernelCode, bias: nil, output: output.base, output_stride: output.rowStride,
                                        bias_gradient: biasGradient))
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
