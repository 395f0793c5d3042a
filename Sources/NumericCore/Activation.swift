import CNumericKernels

/// Element-wise non-linearities. Their derivatives are expressed through the output, which is
/// what the forward pass keeps for backprop: tanh′ = 1 − y², relu′ = [y > 0].
public enum Activation: String, Sendable, Codable, CaseIterable {
    case identity
    case tanh
    case relu

    var kernelCode: Int32 {
        switch self {
        case .identity: Int32(RT_IDENTITY)
        case .tanh: Int32(RT_TANH)
        case .relu: Int32(RT_RELU)
        }
    }

    /// `y[r, c] ← f(y[r, c] + bias[c])` for a contiguous block (tanh by ``FastMath``'s method).
    public func applyWithBias(_ y: MutableMatrixView, bias: UnsafePointer<Float>) {
        precondition(y.isContiguous, "activation: output must be contiguous")
        rt_bias_activation_f32(y.base, bias, y.rows, y.cols, kernelCode)
    }

    /// `dy ← dy · f′` (written through the output `y`), then `biasGradient[c] += Σ_r dy[r, c]`.
    public func backward(output y: MatrixView, gradient dy: MutableMatrixView, biasGradient: UnsafeMutablePointer<Float>) {
        precondition(y.isContiguous && dy.isContiguous && y.rows == dy.rows && y.cols == dy.cols,
                     "activation backward: y and dy must be contiguous and of one shape")
        rt_activation_backward_f32(dy.base, y.base, dy.rows, dy.cols, kernelCode, biasGradient)
    }

    /// f(x) for one value, for tests and scalar code.
    public func callAsFunction(_ x: Float) -> Float {
        switch self {
        case .identity: x
        case .tanh: FastMath.tanh(x)
        case .relu: max(x, 0)
        }
    }
}
