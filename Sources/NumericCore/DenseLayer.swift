/// A fully connected layer `y = f(x·Wᵀ + b)`.
///
/// Shapes: B batch rows, I inputs, O outputs. W is O×I (the PyTorch/CleanRL convention, so a
/// gain or a checkpoint reads the same), b is 1×O.
public struct DenseLayer: Sendable, Hashable, Codable {
    public let weight: ParameterSlot
    public let bias: ParameterSlot
    public let activation: Activation

    public var inputs: Int { weight.cols }
    public var outputs: Int { weight.rows }

    public init(name: String, inputs: Int, outputs: Int, activation: Activation, layout: inout ParameterLayout) {
        weight = layout.add("\(name).weight", rows: outputs, cols: inputs)
        bias = layout.add("\(name).bias", rows: 1, cols: outputs)
        self.activation = activation
    }

    /// Orthogonal weights scaled by `gain`, zero bias (the PPO convention).
    public func initialize(in arena: ParameterArena, gain: Float, using rng: inout RandomGenerator) throws {
        try OrthogonalInitializer.fill(arena.value(weight), gain: gain, using: &rng)
        arena.value(bias).fill(0)
    }

    /// y[B,O] = f(x[B,I] · Wᵀ[I,O] + b[O]). `y` must be contiguous.
    public func forward(_ x: MatrixView, into y: MutableMatrixView, arena: ParameterArena) {
        precondition(x.cols == inputs && y.cols == outputs && x.rows == y.rows,
                     "\(weight.name): input \(x.rows)x\(x.cols) → output \(y.rows)x\(y.cols), layer is \(inputs)→\(outputs)")
        BLAS.denseForward(x, weight: arena.value(weight).readOnly, bias: arena.values.baseAddress! + bias.offset, activation: activation, into: y)
    }

    /// Backprop through the layer given its input `x`, its output `y` and `dy = ∂L/∂y`:
    /// `dy` is overwritten with ∂L/∂(pre-activation); dW[O,I] += dzᵀ·x; db[O] += Σ_B dz;
    /// and, when `dx` is given, dx[B,I] = dz·W. With `below` (the layer whose output `x` is),
    /// dx is taken through that layer's activation at once — its ∂L/∂(pre-activation), and
    /// its bias gradient — and that layer's own backward is then called with
    /// `gradientIsPreActivation`.
    public func backward(
        input x: MatrixView, output y: MatrixView, outputGradient dy: MutableMatrixView,
        inputGradient dx: MutableMatrixView?, arena: ParameterArena, gradientIsPreActivation: Bool = false, below: DenseLayer? = nil
    ) {
        if !gradientIsPreActivation {
            activation.backward(output: y, gradient: dy, biasGradient: arena.gradients.baseAddress! + bias.offset)
        }
        BLAS.gemm(dy.readOnly, transposeA: true, x, into: arena.gradient(weight), beta: 1)
        guard let dx else { return }
        if let below {
            BLAS.gemmThroughActivation(dy.readOnly, arena.value(weight).readOnly, into: dx, activation: below.activation, output: x,
                                       biasGradient: arena.gradients.baseAddress! + below.bias.offset)
        } else {
            BLAS.gemm(dy.readOnly, arena.value(weight).readOnly, into: dx)
        }
    }
}
