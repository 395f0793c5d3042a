import Foundation
import Testing
@testable import NumericCore

@Suite struct BLASTests {
    init() { BLAS.setThreads(1) }

    /// Reference op(A)·op(B) in Double.
    func naiveProduct(_ a: Matrix, _ ta: Bool, _ b: Matrix, _ tb: Bool) -> [[Double]] {
        let m = ta ? a.cols : a.rows, k = ta ? a.rows : a.cols, n = tb ? b.rows : b.cols
        return (0..<m).map { i in
            (0..<n).map { j in
                (0..<k).reduce(0.0) { sum, p in
                    sum + Double(ta ? a[p, i] : a[i, p]) * Double(tb ? b[j, p] : b[p, j])
                }
            }
        }
    }

    /// The last five reach the small-product kernel (n a multiple of 8, at most 128; a transposed
    /// B from 64 rows): reduction chunks (k > 256), 16- and 8-wide blocks, partial row strips,
    /// 7 and 8 rows split into strips of 4.
    @Test(arguments: [(1, 1, 1), (3, 5, 7), (17, 1, 9), (33, 65, 31), (64, 64, 64), (2, 129, 3), (70, 300, 24), (5, 64, 8), (64, 16, 128),
                      (8, 300, 64), (7, 9, 16)])
    func gemmMatchesNaiveLoopForEveryTransposition(shape: (Int, Int, Int)) {
        let (m, k, n) = shape
        var rng = RandomGenerator(seed: UInt64(m * 1000 + k * 10 + n))
        for ta in [false, true] {
            for tb in [false, true] {
                let a = randomMatrix(ta ? k : m, ta ? m : k, &rng)
                let b = randomMatrix(tb ? n : k, tb ? k : n, &rng)
                let c = a.multiplied(by: b, transposeSelf: ta, transposeOther: tb)
                let expected = naiveProduct(a, ta, b, tb)
                #expect(c.rows == m && c.cols == n)
                for i in 0..<m {
                    for j in 0..<n {
                        #expect(close(Double(c[i, j]), expected[i][j], absolute: 1e-4 * Double(k).squareRoot(), relative: 1e-5),
                                "C[\(i),\(j)] ta=\(ta) tb=\(tb)")
                    }
                }
            }
        }
    }

    @Test func gemmOnStridedViewsAccumulatesWithAlphaAndBeta() {
        var rng = RandomGenerator(seed: 11)
        let big = randomMatrix(10, 12, &rng)
        let b = randomMatrix(4, 5, &rng)
        var c = randomMatrix(3, 5, &rng)
        let c0 = c
        // A = big[2..<5, 3..<7]: a 3×4 view with row stride 12, no copy.
        big.withView { whole in
            let a = whole.rows(2..<5).columns(3..<7)
            #expect(a.rowStride == 12 && a[0, 0] == big[2, 3])
            b.withView { bv in c.withMutableView { BLAS.gemm(a, bv, into: $0, alpha: 2, beta: 0.5) } }
        }
        for i in 0..<3 {
            for j in 0..<5 {
                let dot = (0..<4).reduce(0.0) { $0 + Double(big[2 + i, 3 + $1]) * Double(b[$1, j]) }
                #expect(close(Double(c[i, j]), 2 * dot + 0.5 * Double(c0[i, j]), absolute: 1e-4))
            }
        }
    }

    @Test func gemvAxpyScaleDot() {
        var rng = RandomGenerator(seed: 5)
        let a = randomMatrix(7, 3, &rng)
        let x: [Float] = [1, -2, 0.5]
        var y = [Float](repeating: 1, count: 7)
        a.withView { av in
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { BLAS.gemv(av, xp.baseAddress!, xCount: 3, into: $0.baseAddress!, yCount: 7, beta: 2) }
            }
        }
        for i in 0..<7 {
            let expected = Double(a[i, 0]) - 2 * Double(a[i, 1]) + 0.5 * Double(a[i, 2]) + 2
            #expect(close(Double(y[i]), expected, absolute: 1e-5))
        }
        var v: [Float] = [1, 2, 3]
        v.axpy(2, [1, 1, 1])
        #expect(v == [3, 4, 5])
        v.scale(by: 0.5)
        #expect(v == [1.5, 2, 2.5])
        #expect(v.dot([2, 0, 4]) == 13)
    }

    @Test func reductions() {
        let m = Matrix([[1, 5, -2], [4, 0, 3]])
        #expect(m.rowSums() == [4, 7])
        #expect(m.columnSums() == [5, 5, 1])
        #expect(m.withView { $0.rowMaxima() } == [5, 4])
        #expect(m.withView { $0.rowArgmax() } == [1, 0])
    }

    @Test func softmaxIsStableForLargeLogits() {
        let logits = Matrix([[1000, 1001, 1002], [-1000, 0, 1000], [0, 0, 0]])
        let p = logits.softmaxRows()
        let logp = logits.logSoftmaxRows()
        // exp(x − logsumexp) of the first row: [e^-2, e^-1, 1] / (1 + e^-1 + e^-2).
        let z = 1 + exp(-1.0) + exp(-2.0)
        #expect(close(Double(p[0, 0]), exp(-2.0) / z, relative: 1e-6))
        #expect(close(Double(p[0, 2]), 1 / z, relative: 1e-6))
        #expect(close(Double(logp[0, 2]), -log(z), absolute: 1e-6))
        #expect(close(Double(logp[1, 0]), -2000, relative: 1e-6))  // finite, where log(softmax) is −inf
        #expect(p[1, 2] == 1 && p[1, 0] == 0)
        #expect(close(Double(p[2, 1]), 1.0 / 3, relative: 1e-6))
        for r in 0..<3 { #expect(close(Double(p.row(r).reduce(0, +)), 1, absolute: 1e-6)) }
    }

    @Test func smallKernelAccumulatesWithBeta() {
        var rng = RandomGenerator(seed: 12)
        let a = randomMatrix(13, 280, &rng), b = randomMatrix(280, 16, &rng)
        var c = randomMatrix(13, 16, &rng)
        let c0 = c
        a.withView { av in b.withView { bv in c.withMutableView { BLAS.gemm(av, bv, into: $0, beta: 0.5) } } }
        let product = naiveProduct(a, false, b, false)
        for i in 0..<13 {
            for j in 0..<16 { #expect(close(Double(c[i, j]), product[i][j] + 0.5 * Double(c0[i, j]), absolute: 2e-3)) }
        }
    }

    /// The fused dense forward pass and backprop-through-activation against the same steps done
    /// one by one in Double, on shapes that take the fused kernel.
    @Test(arguments: [Activation.tanh, .relu, .identity])
    func fusedDenseKernelsMatchTheStepsOneByOne(activation: Activation) {
        var rng = RandomGenerator(seed: 31)
        let x = randomMatrix(70, 24, &rng), w = randomMatrix(16, 24, &rng), bias = randomMatrix(1, 16, &rng)
        var y = Matrix(rows: 70, cols: 16)
        x.withView { xv in w.withView { wv in y.withMutableView { BLAS.denseForward(xv, weight: wv, bias: bias.storage, activation: activation, into: $0) } } }
        let pre = naiveProduct(x, false, w, true)
        for i in 0..<70 {
            for j in 0..<16 {
                #expect(close(Double(y[i, j]), Double(activation(Float(pre[i][j] + Double(bias[0, j])))), absolute: 1e-4, relative: 1e-5))
            }
        }
        // dX = (dY · W) ⊙ f′(y_below), bias gradient += its column sums, with y_below = y above.
        let dy = randomMatrix(70, 16, &rng), wNext = randomMatrix(16, 16, &rng)
        var dx = Matrix(rows: 70, cols: 16)
        var biasGradient = [Float](repeating: 1, count: 16)
        dy.withView { dv in wNext.withView { wv in y.withView { yv in dx.withMutableView { out in
            BLAS.gemmThroughActivation(dv, wv, into: out, activation: activation, output: yv, biasGradient: &biasGradient)
        } } } }
        let back = naiveProduct(dy, false, wNext, false)
        var sums = [Double](repeating: 1, count: 16)
        for i in 0..<70 {
            for j in 0..<16 {
                let out = Double(y[i, j])
                let derivative = switch activation {
                case .tanh: 1 - out * out
                case .relu: out > 0 ? 1.0 : 0
                case .identity: 1.0
                }
                let expected = back[i][j] * derivative
                sums[j] += expected
                #expect(close(Double(dx[i, j]), expected, absolute: 1e-4, relative: 1e-5))
            }
        }
        for j in 0..<16 { #expect(close(Double(biasGradient[j]), sums[j], absolute: 1e-3, relative: 1e-5)) }
    }
}
