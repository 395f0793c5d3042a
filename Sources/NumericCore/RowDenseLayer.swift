import CNumericKernels

/// A dense layer's weights copied out of an arena for serving one input row at a time.
///
/// A single row is a matrix–vector product too small for BLAS to pay off (a 64×64 layer is 4k
/// multiply–adds); storing Wᵀ lets the kernel sweep contiguous outputs with vector FMAs. The
/// copy is immutable, so any number of threads may run it at once.
public struct RowDenseLayer: Sendable {
    public let inputs: Int
    public let outputs: Int
    public let activation: Activation
    /// Wᵀ, inputs × outputs, row-major.
    private let transposedWeight: [Float]
    private let bias: [Float]

    public init(_ layer: DenseLayer, arena: ParameterArena) {
        let w = arena.value(layer.weight).readOnly
        var transposed = [Float](repeating: 0, count: layer.inputs * layer.outputs)
        for o in 0..<layer.outputs {
            for i in 0..<layer.inputs { transposed[i * layer.outputs + o] = w[o, i] }
        }
        inputs = layer.inputs
        outputs = layer.outputs
        activation = layer.activation
        transposedWeight = transposed
        bias = Array(UnsafeBufferPointer(start: arena.values.baseAddress! + layer.bias.offset, count: layer.outputs))
    }

    /// y = f(x·Wᵀ + b) for one row; `x` holds `inputs` values, `y` room for `outputs` (no aliasing).
    @inline(__always)
    public func forward(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        transposedWeight.withUnsafeBufferPointer { w in
            bias.withUnsafeBufferPointer { b in
                rt_dense_row_f32(x, w.baseAddress!, b.baseAddress!, y, inputs, outputs, activation.kernelCode)
            }
        }
    }
}
