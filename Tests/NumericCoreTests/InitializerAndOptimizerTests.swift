import Foundation
import Testing
@testable import NumericCore

@Suite struct InitializerAndOptimizerTests {
    init() { BLAS.setThreads(1) }

    @Test(arguments: [(64, 16, Float(2).squareRoot()), (8, 64, Float(0.01)), (1, 64, Float(1)), (33, 33, Float(1))])
    func orthogonalInitHasOrthonormalRowsOrColumns(shape: (Int, Int, Float)) throws {
        let (rows, cols, gain) = shape
        var rng = RandomGenerator(seed: 31)
        let w = try OrthogonalInitializer.matrix(rows: rows, cols: cols, gain: gain, using: &rng)
        // Tall: WᵀW = gain²·I (cols×cols). Wide: WWᵀ = gain²·I (rows×rows).
        let gram = rows >= cols ? w.multiplied(by: w, transposeSelf: true) : w.multiplied(by: w, transposeOther: true)
        for i in 0..<gram.rows {
            for j in 0..<gram.cols {
                let expected = i == j ? Double(gain * gain) : 0
                #expect(close(Double(gram[i, j]), expected, absolute: 2e-5 * Double(gain * gain) + 1e-9), "Gram[\(i),\(j)]")
            }
        }
        var again = RandomGenerator(seed: 31)
        #expect(try OrthogonalInitializer.matrix(rows: rows, cols: cols, gain: gain, using: &again) == w)
    }

    @Test func adamStepMatchesHandComputedValues() {
        var adam = AdamOptimizer(parameterCount: 2, beta1: 0.9, beta2: 0.999, epsilon: 1e-5)
        var parameters: [Float] = [1, -2]
        let g1: [Float] = [0.5, -4]
        let g2: [Float] = [-1, 2]
        func step(_ g: [Float]) {
            parameters.withUnsafeMutableBufferPointer { p in
                g.withUnsafeBufferPointer { adam.update(p, gradients: $0, learningRate: 0.1) }
            }
        }
        // Step 1: m = 0.1g, v = 0.001g², m̂ = g, v̂ = g², update = lr·g/(|g| + ε).
        step(g1)
        #expect(close(Double(parameters[0]), 1 - 0.1 * 0.5 / (0.5 + 1e-5), absolute: 1e-6))
        #expect(close(Double(parameters[1]), -2 + 0.1 * 4 / (4 + 1e-5), absolute: 1e-6))
        // Step 2 for the first parameter, computed by hand in Double with the Float-rounded β's
        // the optimiser really uses (1 − Float(0.999) is 1.3e-5 off 0.001).
        let b1 = Double(Float(0.9)), b2 = Double(Float(0.999))
        let m = b1 * ((1 - b1) * 0.5) + (1 - b1) * -1.0
        let v = b2 * ((1 - b2) * 0.25) + (1 - b2) * 1.0
        let mHat = m / (1 - b1 * b1), vHat = v / (1 - b2 * b2)
        let expected = (1 - 0.1 * 0.5 / (0.5 + 1e-5)) - 0.1 * mHat / (vHat.squareRoot() + 1e-5)
        step(g2)
        #expect(close(Double(parameters[0]), expected, absolute: 1e-6))
        #expect(adam.step == 2)
        #expect(close(Double(adam.firstMoment[0]), m, relative: 1e-6))
        #expect(close(Double(adam.secondMoment[0]), v, relative: 1e-6))
    }

    @Test func learningRateSchedules() {
        let linear = LearningRateSchedule.linear(initial: 1e-3, final: 0)
        #expect(linear.value(update: 0, of: 10) == 1e-3)
        #expect(close(Double(linear.value(update: 5, of: 10)), 5e-4, relative: 1e-6))
        #expect(linear.value(update: 10, of: 10) == 0)
        #expect(LearningRateSchedule.constant(3e-4).value(update: 7, of: 10) == 3e-4)
    }

    @Test func globalNormClippingScalesEveryTensorTogether() throws {
        var layout = ParameterLayout()
        let a = layout.add("a", rows: 1, cols: 2)
        let b = layout.add("b", rows: 1, cols: 1)
        let arena = ParameterArena(layout: layout)
        arena.gradient(a)[0, 0] = 3
        arena.gradient(a)[0, 1] = 0
        arena.gradient(b)[0, 0] = 4
        let norm = try GradientClipping.clipGlobalNorm(arena, maxNorm: 0.5)
        #expect(norm == 5)
        #expect(close(Double(arena.gradients[0]), 0.3, relative: 1e-5))
        #expect(close(Double(arena.gradients[2]), 0.4, relative: 1e-5))
        // Below the threshold nothing changes.
        #expect(try GradientClipping.clipGlobalNorm(arena, maxNorm: 10) < 0.51)
        #expect(close(Double(arena.gradients[2]), 0.4, relative: 1e-5))
    }

    @Test func hugeFiniteGradientsAreClippedNotReportedAsNonFinite() throws {
        var layout = ParameterLayout()
        let a = layout.add("a", rows: 1, cols: 2)
        let arena = ParameterArena(layout: layout)
        arena.gradient(a)[0, 0] = 3e20  // its square overflows Float
        arena.gradient(a)[0, 1] = 4e20
        let norm = try GradientClipping.clipGlobalNorm(arena, maxNorm: 1)
        #expect(close(Double(norm), 5e20, relative: 1e-6))
        #expect(close(Double(arena.gradients[1]), 0.8, relative: 1e-5))
    }

    @Test func nonFiniteGradientIsReportedWithItsTensor() {
        var layout = ParameterLayout()
        _ = layout.add("encoder.0.weight", rows: 2, cols: 2)
        let bias = layout.add("encoder.0.bias", rows: 1, cols: 2)
        let arena = ParameterArena(layout: layout)
        arena.gradient(bias)[0, 1] = .nan
        let error = #expect(throws: NonFiniteValueError.self) { try GradientClipping.clipGlobalNorm(arena, maxNorm: 0.5) }
        #expect(error?.location == "encoder.0.bias[1]" && error?.quantity == "gradient" && error?.value.isNaN == true)
    }
}
