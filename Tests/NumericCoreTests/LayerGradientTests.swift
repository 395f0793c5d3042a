import Foundation
import Testing
@testable import NumericCore

/// Finite-difference checks of every layer type and a whole MLP. The network runs in Float, so
/// central differences use h = 1e-2 and the loss is summed in Double: truncation error is
/// O(h²) ≈ 1e-4 and rounding noise ≈ 1e-7·|L|/h ≈ 1e-4, hence the tolerance 2e-3 + 1e-2·|g|.
@Suite struct LayerGradientTests {
    init() { BLAS.setThreads(1) }

    /// L = Σ w ⊙ MLP(x), so ∂L/∂y = w.
    func loss(_ mlp: MLP, _ x: Matrix, _ w: Matrix) -> Double {
        let y = x.withView { mlp.forward($0) }
        var total = 0.0
        for r in 0..<y.rows { for c in 0..<y.cols { total += Double(y[r, c]) * Double(w[r, c]) } }
        return total
    }

    func checkGradients(spec: MLPSpec, batch: Int, seed: UInt64) throws {
        var rng = RandomGenerator(seed: seed)
        let mlp = MLP(spec: spec)
        try mlp.initialize(hiddenGain: Float(2).squareRoot(), outputGain: 1, using: &rng)
        for slot in mlp.arena.layout.slots where slot.name.hasSuffix("bias") {
            let bias = mlp.arena.value(slot)
            for c in 0..<bias.cols { bias[0, c] = Float(rng.normal()) * 0.3 }
        }
        let x = randomMatrix(batch, spec.inputs, &rng)
        let w = randomMatrix(batch, spec.outputs, &rng)
        var dx = Matrix(rows: batch, cols: spec.inputs)
        mlp.arena.zeroGradients()
        _ = x.withView { mlp.forward($0) }
        w.withView { wv in dx.withMutableView { mlp.backward(outputGradient: wv, inputGradient: $0) } }
        let analytic = Array(mlp.arena.gradients)

        let h: Float = 1e-2
        for index in 0..<mlp.arena.count {
            let original = mlp.arena.values[index]
            mlp.arena.values[index] = original + h
            let plus = loss(mlp, x, w)
            mlp.arena.values[index] = original - h
            let minus = loss(mlp, x, w)
            mlp.arena.values[index] = original
            let numeric = (plus - minus) / Double(2 * h)
            #expect(close(Double(analytic[index]), numeric, absolute: 2e-3, relative: 1e-2),
                    "∂L/∂θ[\(index)]: backprop \(analytic[index]) vs finite difference \(numeric)")
        }
        var xp = x
        for index in x.storage.indices {
            let original = x.storage[index]
            xp.storage[index] = original + h
            let plus = loss(mlp, xp, w)
            xp.storage[index] = original - h
            let minus = loss(mlp, xp, w)
            xp.storage[index] = original
            let numeric = (plus - minus) / Double(2 * h)
            #expect(close(Double(dx.storage[index]), numeric, absolute: 2e-3, relative: 1e-2), "∂L/∂x[\(index)]")
        }
    }

    @Test(arguments: Activation.allCases)
    func denseLayerGradients(activation: Activation) throws {
        try checkGradients(spec: MLPSpec(sizes: [5, 4], hiddenActivation: activation, outputActivation: activation),
                           batch: 3, seed: 21)
    }

    @Test func wholeTanhMLPGradients() throws {
        try checkGradients(spec: MLPSpec(sizes: [6, 8, 7, 3], hiddenActivation: .tanh), batch: 5, seed: 22)
    }

    /// Widths that are multiples of 8 and a batch of 64 take the fused kernels: the forward pass
    /// with bias and activation, and backprop through each hidden activation inside the product.
    @Test func wholeTanhMLPGradientsThroughTheFusedKernels() throws {
        try checkGradients(spec: MLPSpec(sizes: [6, 16, 8, 8], hiddenActivation: .tanh), batch: 64, seed: 24)
    }

    @Test func reluMLPGradients() throws {
        try checkGradients(spec: MLPSpec(sizes: [4, 9, 2], hiddenActivation: .relu), batch: 4, seed: 23)
    }

    @Test func forwardMatchesHandComputation() {
        let mlp = MLP(spec: MLPSpec(sizes: [2, 2, 1], hiddenActivation: .tanh))
        mlp.arena.load(values: [
            0.5, -1, 2, 0.25,  // layer 0 weight (2×2, out × in)
            0.1, -0.2,         // layer 0 bias
            1.5, -0.5,         // layer 1 weight (1×2)
            0.3,               // layer 1 bias
        ])
        let y = Matrix([[1, 2]]).withView { mlp.forward($0).toMatrix() }
        let h0 = tanh(0.5 * 1 - 1 * 2 + 0.1), h1 = tanh(2 * 1 + 0.25 * 2 - 0.2)
        #expect(close(Double(y[0, 0]), 1.5 * h0 - 0.5 * h1 + 0.3, absolute: 1e-6))
    }

    @Test func fastTanhErrorBound() {
        var worstRelative = 0.0
        var x: [Float] = []
        var v: Float = -20
        while v <= 20 { x.append(v); v += 1e-4 }
        x += [0, -0, 1e-30, -1e-30, 1e-8, 3e-5, 0.124, 0.126, 8.99, 9.01, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .infinity, -.infinity]
        var y = [Float](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { xs in y.withUnsafeMutableBufferPointer { FastMath.tanh(xs.baseAddress!, into: $0.baseAddress!, count: xs.count) } }
        for (xi, yi) in zip(x, y) {
            let exact = tanh(Double(xi))
            let relative = exact == 0 ? abs(Double(yi)) : abs(Double(yi) - exact) / abs(exact)
            worstRelative = max(worstRelative, relative)
        }
        #expect(worstRelative <= 1e-6, "worst relative error \(worstRelative)")
        #expect(FastMath.tanh(.nan).isNaN)
        #expect(FastMath.tanh(-0.0).sign == .minus)
    }
}
