import CBLASLAPACK

/// Dense factorisations through LAPACKE, on row-major Float storage.
public enum LinearAlgebra {
    public struct Failure: Error, CustomStringConvertible {
        public var routine: String
        public var info: Int32
        public var description: String { "LAPACKE_\(routine) returned info=\(info)" }
    }

    /// Replaces the m × n (m ≥ n) row-major matrix `a` by the Q of its thin QR factorisation
    /// (`sgeqrf` + `sorgqr`), whose columns are orthonormal, and returns R's diagonal.
    @discardableResult
    public static func orthonormalizeColumns(_ a: inout [Float], rows m: Int, cols n: Int) throws -> [Float] {
        precondition(m >= n && a.count == m * n, "orthonormalizeColumns: need m ≥ n and \(m)×\(n) values")
        var tau = [Float](repeating: 0, count: n)
        var info = LAPACKE_sgeqrf(LAPACK_ROW_MAJOR, LAPACKInt(m), LAPACKInt(n), &a, LAPACKInt(n), &tau)
        guard info == 0 else { throw Failure(routine: "sgeqrf", info: info) }
        let diagonal = (0..<n).map { a[$0 * n + $0] }
        info = LAPACKE_sorgqr(LAPACK_ROW_MAJOR, LAPACKInt(m), LAPACKInt(n), LAPACKInt(n), &a, LAPACKInt(n), &tau)
        guard info == 0 else { throw Failure(routine: "sorgqr", info: info) }
        return diagonal
    }

    /// The thin singular value decomposition A = U · diag(s) · Vᵀ by divide and conquer
    /// (`sgesdd`): U is m × r, Vᵀ is r × n, r = min(m, n), s descending.
    public static func singularValueDecomposition(_ a: Matrix) throws -> (u: Matrix, s: [Float], vt: Matrix) {
        let (m, n) = (a.rows, a.cols)
        let r = min(m, n)
        var work = a.storage
        var s = [Float](repeating: 0, count: r)
        var u = Matrix(rows: m, cols: r)
        var vt = Matrix(rows: r, cols: n)
        let info = LAPACKE_sgesdd(
            LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "S")), LAPACKInt(m), LAPACKInt(n), &work, LAPACKInt(n),
            &s, &u.storage, LAPACKInt(r), &vt.storage, LAPACKInt(n))
        guard info == 0 else { throw Failure(routine: "sgesdd", info: info) }
        return (u, s, vt)
    }

    /// Ridge regression: β minimising ‖Xβ − y‖² + λ‖β₁…‖² (the first column, an intercept, is not
    /// penalised), from the normal equations (XᵀX + λI′)β = Xᵀy by Cholesky (`dposv`), in Double.
    public static func ridgeRegression(_ rows: [[Double]], _ targets: [Double], lambda: Double) throws -> [Double] {
        precondition(!rows.isEmpty && rows.count == targets.count, "ridge: one target per row")
        let p = rows[0].count
        var gram = [Double](repeating: 0, count: p * p)
        var moment = [Double](repeating: 0, count: p)
        for (x, y) in zip(rows, targets) {
            precondition(x.count == p, "ridge: rows of different widths")
            for i in 0..<p {
                moment[i] += x[i] * y
                for j in i..<p { gram[i * p + j] += x[i] * x[j] }
            }
        }
        for i in 1..<max(p, 1) { gram[i * p + i] += lambda }
        return try solvePositiveDefinite(gram, moment, size: p)
    }

    /// x solving A x = b for a symmetric positive definite A (`size`², row-major; only its upper
    /// triangle is read), by Cholesky (`dposv`).
    public static func solvePositiveDefinite(_ a: [Double], _ b: [Double], size n: Int) throws -> [Double] {
        precondition(a.count == n * n && b.count == n, "solve: an n×n matrix and n right-hand sides")
        var a = a, x = b
        let info = LAPACKE_dposv(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "U")), LAPACKInt(n), 1, &a, LAPACKInt(n), &x, 1)
        guard info == 0 else { throw Failure(routine: "dposv", info: info) }
        return x
    }
}
