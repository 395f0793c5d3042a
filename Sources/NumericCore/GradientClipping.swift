/// Raised when a NaN or an infinity appears where training would consume it.
public struct NonFiniteValueError: Error, CustomStringConvertible, Equatable {
    /// What was being checked ("gradient", "observation", "loss"…).
    public let quantity: String
    /// Where: a parameter tensor's name, an index, a field.
    public let location: String
    public let value: Float

    public init(quantity: String, location: String, value: Float) {
        self.quantity = quantity
        self.location = location
        self.value = value
    }

    public var description: String { "non-finite \(quantity) \(value) at \(location)" }
}

public enum GradientClipping {
    /// Scales all gradients of `arena` together so their global L2 norm is at most `maxNorm`
    /// (PyTorch's `clip_grad_norm_`, coefficient maxNorm/(norm + 1e-6)), and returns the norm
    /// before clipping. A non-finite gradient is reported with its tensor's name, not clipped.
    @discardableResult
    public static func clipGlobalNorm(_ arena: ParameterArena, maxNorm: Float) throws -> Float {
        let g = arena.gradients
        // Float sum of squares from BLAS; if it is not finite, either a gradient is NaN/Inf (an
        // error naming it) or finite gradients overflowed Float (summed again in Double).
        var sumOfSquares = Double(BLAS.dot(g.baseAddress!, g.baseAddress!, count: g.count))
        if !sumOfSquares.isFinite {
            if let index = g.firstIndex(where: { !$0.isFinite }) {
                let slot = arena.layout.slots.last { $0.offset <= index }
                let place = slot.map { "\($0.name)[\(index - $0.offset)]" } ?? "index \(index)"
                throw NonFiniteValueError(quantity: "gradient", location: place, value: g[index])
            }
            sumOfSquares = g.reduce(0.0) { $0 + Double($1) * Double($1) }
        }
        let norm = Float(sumOfSquares.squareRoot())
        if norm > maxNorm {
            let coefficient = maxNorm / (norm + 1e-6)
            BLAS.scale(g.baseAddress!, by: coefficient, count: g.count)
        }
        return norm
    }
}
