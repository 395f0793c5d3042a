/// Orthogonal initialisation (Saxe et al., 2014) as PPO implementations use it: a Gaussian
/// matrix is QR-factorised with LAPACK (`sgeqrf` + `sorgqr`), Q's columns take the signs of R's
/// diagonal so the result is uniformly distributed over orthogonal matrices, and Q is scaled by
/// `gain` (√2 for hidden layers, 0.01 for policy heads, 1 for value heads).
public enum OrthogonalInitializer {
    /// Fills `out` (rows × cols, contiguous) with a scaled (semi-)orthogonal matrix: orthonormal
    /// rows when rows ≤ cols, orthonormal columns otherwise.
    public static func fill(
        _ out: MutableMatrixView, gain: Float, using rng: inout RandomGenerator
    ) throws {
        let (rows, cols) = (out.rows, out.cols)
        guard rows > 0 && cols > 0 else { return }
        // Factorise the tall orientation m×n with m ≥ n.
        let transpose = rows < cols
        let m = transpose ? cols : rows
        let n = transpose ? rows : cols
        var a = [Float](repeating: 0, count: m * n)
        for i in a.indices { a[i] = Float(rng.normal()) }
        let signs = try LinearAlgebra.orthonormalizeColumns(&a, rows: m, cols: n).map { $0 < 0 ? Float(-1) : 1 }
        for i in 0..<m {
            for j in 0..<n {
                let value = a[i * n + j] * signs[j] * gain
                if transpose { out[j, i] = value } else { out[i, j] = value }
            }
        }
    }

    public static func matrix(rows: Int, cols: Int, gain: Float, using rng: inout RandomGenerator) throws -> Matrix {
        var result = Matrix(rows: rows, cols: cols)
        try result.withMutableView { try fill($0, gain: gain, using: &rng) }
        return result
    }
}
