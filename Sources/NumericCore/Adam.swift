import CNumericKernels
import Foundation

/// Adam (Kingma & Ba, 2015) over one flat parameter buffer, in PyTorch's form:
///   m ← β1·m + (1−β1)·g,   v ← β2·v + (1−β2)·g²,
///   θ ← θ − lr · (m / (1−β1ᵗ)) / (√(v / (1−β2ᵗ)) + ε).
/// PPO uses ε = 1e-5 (CleanRL, Stable-Baselines3), not the paper's 1e-8.
public struct AdamOptimizer: Sendable, Equatable {
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    /// First and second moment estimates, one per parameter.
    public private(set) var firstMoment: [Float]
    public private(set) var secondMoment: [Float]
    /// Number of steps taken (t in the bias corrections).
    public private(set) var step: Int

    public init(parameterCount: Int, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-5) {
        precondition((0..<1).contains(beta1) && (0..<1).contains(beta2) && epsilon > 0,
                     "Adam: β1, β2 must lie in [0, 1) and ε be positive")
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        firstMoment = [Float](repeating: 0, count: parameterCount)
        secondMoment = [Float](repeating: 0, count: parameterCount)
        step = 0
    }

    /// Restores the optimiser from checkpointed state.
    public init(beta1: Float, beta2: Float, epsilon: Float, firstMoment: [Float], secondMoment: [Float], step: Int) {
        precondition(firstMoment.count == secondMoment.count, "Adam: moment buffers differ in size")
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.firstMoment = firstMoment
        self.secondMoment = secondMoment
        self.step = step
    }

    /// One update of `parameters` from `gradients` (both `firstMoment.count` long).
    public mutating func update(
        _ parameters: UnsafeMutableBufferPointer<Float>, gradients: UnsafeBufferPointer<Float>, learningRate: Float
    ) {
        precondition(parameters.count == firstMoment.count && gradients.count == firstMoment.count,
                     "Adam: built for \(firstMoment.count) parameters, got \(parameters.count)")
        step += 1
        let (b1, b2, eps) = (beta1, beta2, epsilon)
        let correction1 = 1 - Float(Foundation.pow(Double(b1), Double(step)))
        let correction2 = 1 - Float(Foundation.pow(Double(b2), Double(step)))
        let stepSize = learningRate / correction1
        let inverseRootCorrection2 = 1 / correction2.squareRoot()
        firstMoment.withUnsafeMutableBufferPointer { m in
            secondMoment.withUnsafeMutableBufferPointer { v in
                rt_adam_f32(parameters.baseAddress!, gradients.baseAddress!, m.baseAddress!, v.baseAddress!, m.count,
                            b1, b2, eps, stepSize, inverseRootCorrection2)
            }
        }
    }

    /// One update of every parameter of `arena` from its gradients.
    public mutating func update(_ arena: ParameterArena, learningRate: Float) {
        update(arena.values, gradients: UnsafeBufferPointer(arena.gradients), learningRate: learningRate)
    }
}
