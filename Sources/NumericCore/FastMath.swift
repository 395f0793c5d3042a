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
    /// ≤ 1e-6 for every finite x (4.5e-7 measured by the fit), so absolute error ≤ 1e-6 too; NaN
    /// stays NaN, −0 stays −0. Method: x clamped to ±7.90531 (beyond it tanh is within 2.7e-7 of
    /// ±1), then P(x)/Q(x) with P odd of degree 9 and Q even of degree 6, coefficients fitted by
    /// `tools/fit_tanh.py` — about a dozen vector operations and one division per 8 values.
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
