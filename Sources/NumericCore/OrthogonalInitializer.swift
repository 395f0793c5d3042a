import CBLASLAPACK

/// Orthogonal initialisation (Saxe et al., 2014) as PPO implementations use it: a Gaussian
/// matrix is QR-factorised with LAPACK (`sgeqrf` + `sorgqr`), Q's columns take the signs of R's
/// diagonal so the result is uniformly distributed over orthogonal matrices, and Q is scaled by
/// `gain` (√2 for hidden layers, 0.01 for policy heads, 1 for value heads).
public enum OrthogonalInitializer {
    public enum Failure: Error, CustomStringConvertible {
        case lapack(routine: String, info: Int32)

        public var description: String {
            switch self {
            case let .lapack(routine, info): "orthogonal init: LAPACKE_\(routine) returned info=\(info)"
            }
        }
    }

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
        var tau = [Float](repeating: 0, count: n)
        var signs = [Float](repeating: 1, count: n)
        var info = LAPACKE_sgeqrf(LAPACK_ROW_MAJOR, LAPACKInt(m), LAPACKInt(n), &a, LAPACKInt(n), &tau)
        guard info == 0 else { throw Failure.lapack(routine: "sgeqrf", info: info) }
        for j in 0..<n { signs[j] = a[j * n + j] < 0 ? -1 : 1 }
        info = LAPACKE_sorgqr(LAPACK_ROW_MAJOR, LAPACKInt(m), LAPACKInt(n), LAPACKInt(n), &a, LAPACKInt(n), &tau)
        guard info == 0 else { throw Failure.lapack(routine: "sorgqr", info: info) }
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
