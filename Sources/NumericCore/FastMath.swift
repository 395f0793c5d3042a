import CNumericKernels

/// Vectorised elementary functions for activation layers, where the C library's `tanhf` would
/// dominate the cost of a small MLP. Callers ask for them by name; nothing here replaces
/// `Foundation.tanh` globally.
///
/// The kernels live in the `CNumericKernels` C target, compiled for AVX2+FMA and for baseline
/// x86-64 and picked by the CPU at load time; Swift's own SIMD types compile to 4-wide SSE on
/// the baseline target, and its generic selects and comparisons go lane by lane through memory.
public enum FastMath {
    /// `y[i] = tanh(x[i])` for `count` values (x and y may alias).
    ///
    /// Error bound (checked against Double over a dense grid in the tests): relative error
    /// ≤ 1e-6 for every finite x, so absolute error ≤ 1e-6 too; NaN stays NaN. Method: for
    /// a = min(|x|, 9), tanh a = e/(e + 2) with e = expm1(2a); expm1 by Cody–Waite range
    /// reduction 2a = n·ln2 + r, |r| ≤ ln2/2, as 2ⁿ·q(r) + (2ⁿ − 1) with q(r) = eʳ − 1 from a
    /// degree-7 Taylor polynomial, which avoids the cancellation of 1 − 2/(e^{2a} + 1) near 0.
    @inline(__always)
    public static func tanh(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        rt_tanh_f32(x, y, count)
    }

    /// Scalar form of ``tanh(_:into:count:)`` with the same error bound.
    public static func tanh(_ x: Float) -> Float {
        var input = x
        var output: Float = 0
        rt_tanh_f32(&input, &output, 1)
        return output
    }
}
