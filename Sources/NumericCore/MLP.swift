/// The architecture of a multi-layer perceptron: layer widths and activations.
public struct MLPSpec: Sendable, Hashable, Codable {
    /// Widths from input to output, e.g. [16, 64, 64, 8].
    public var sizes: [Int]
    public var hiddenActivation: Activation
    public var outputActivation: Activation

    public init(sizes: [Int], hiddenActivation: Activation = .tanh, outputActivation: Activation = .identity) {
        precondition(sizes.count >= 2 && sizes.allSatisfy { $0 > 0 }, "An MLP needs ≥ 2 positive widths, got \(sizes)")
        self.sizes = sizes
        self.hiddenActivation = hiddenActivation
        self.outputActivation = outputActivation
    }

    public var inputs: Int { sizes[0] }
    public var outputs: Int { sizes[sizes.count - 1] }
}

/// A multi-layer perceptron whose parameters live in a ``ParameterArena`` (possibly shared with
/// other networks) and whose forward pass keeps every activation for the backward pass.
///
/// Legend: B batch rows; sizes[l] the width after layer l. Workspace buffers grow to the largest
/// batch seen and are reused, so a training step allocates nothing after the first.
public final class MLP {
    public let spec: MLPSpec
    public let layers: [DenseLayer]
    public let arena: ParameterArena

    /// activations[0] is a copy of the input, activations[l] the output of layer l; each B×sizes[l].
    private var activations: [UnsafeMutablePointer<Float>] = []
    /// Two B×maxWidth buffers that the backward pass alternates between.
    private var gradientScratch: [UnsafeMutablePointer<Float>] = []
    private var capacity = 0
    private var batch = 0

    /// Declares the layers' tensors in `layout` under `name` ("actor.0.weight"…).
    public static func declare(_ spec: MLPSpec, name: String, in layout: inout ParameterLayout) -> [DenseLayer] {
        (0..<(spec.sizes.count - 1)).map { l in
            let isLast = l == spec.sizes.count - 2
            return DenseLayer(
                name: "\(name).\(l)", inputs: spec.sizes[l], outputs: spec.sizes[l + 1],
                activation: isLast ? spec.outputActivation : spec.hiddenActivation, layout: &layout)
        }
    }

    /// An MLP over tensors already declared in `arena`'s layout.
    public init(spec: MLPSpec, layers: [DenseLayer], arena: ParameterArena) {
        precondition(layers.count == spec.sizes.count - 1, "MLP: \(layers.count) layers for sizes \(spec.sizes)")
        self.spec = spec
        self.layers = layers
        self.arena = arena
    }

    /// A stand-alone MLP with its own arena.
    public convenience init(spec: MLPSpec) {
        var layout = ParameterLayout()
        let layers = MLP.declare(spec, name: "mlp", in: &layout)
        self.init(spec: spec, layers: layers, arena: ParameterArena(layout: layout))
    }

    deinit { releaseWorkspace() }

    /// Orthogonal init with `hiddenGain` on hidden layers and `outputGain` on the last, zero biases.
    public func initialize(hiddenGain: Float, outputGain: Float, using rng: inout RandomGenerator) throws {
        for (l, layer) in layers.enumerated() {
            try layer.initialize(in: arena, gain: l == layers.count - 1 ? outputGain : hiddenGain, using: &rng)
        }
    }

    /// Runs the network on `input` (B × inputs). The returned view is valid until the next call.
    @discardableResult
    public func forward(_ input: MatrixView) -> MatrixView {
        precondition(input.cols == spec.inputs, "MLP expects \(spec.inputs) input columns, got \(input.cols)")
        reserve(batch: input.rows)
        batch = input.rows
        view(0).copy(from: input)
        for (l, layer) in layers.enumerated() {
            layer.forward(view(l).readOnly, into: view(l + 1), arena: arena)
        }
        return view(layers.count).readOnly
    }

    /// The output of the last forward pass.
    public var output: MatrixView { view(layers.count).readOnly }

    /// Accumulates ∂L/∂parameters into the arena's gradients for the last forward pass, given
    /// `outputGradient` = ∂L/∂output (B × outputs). Writes ∂L/∂input into `inputGradient` if given.
    public func backward(outputGradient: MatrixView, inputGradient: MutableMatrixView? = nil) {
        precondition(outputGradient.rows == batch && outputGradient.cols == spec.outputs,
                     "MLP backward: gradient \(outputGradient.rows)x\(outputGradient.cols), expected \(batch)x\(spec.outputs)")
        var current = scratch(0, cols: spec.outputs)
        current.copy(from: outputGradient)
        for l in stride(from: layers.count - 1, through: 0, by: -1) {
            let layer = layers[l]
            let next: MutableMatrixView? = l > 0 ? scratch((layers.count - l) % 2, cols: layer.inputs) : inputGradient
            // Below the top layer, the gradient arrives already through this layer's activation.
            layer.backward(input: view(l).readOnly, output: view(l + 1).readOnly, outputGradient: current, inputGradient: next, arena: arena,
                           gradientIsPreActivation: l < layers.count - 1, below: l > 0 ? layers[l - 1] : nil)
            if let next, l > 0 { current = next }
        }
    }

    private func view(_ index: Int) -> MutableMatrixView {
        MutableMatrixView(base: activations[index], rows: batch, cols: spec.sizes[index])
    }

    private func scratch(_ index: Int, cols: Int) -> MutableMatrixView {
        MutableMatrixView(base: gradientScratch[index], rows: batch, cols: cols)
    }

    private func reserve(batch newBatch: Int) {
        guard newBatch > capacity else { return }
        releaseWorkspace()
        capacity = newBatch
        activations = spec.sizes.map { AlignedStorage.zeroed(newBatch * $0).baseAddress! }
        let widest = spec.sizes.max()!
        gradientScratch = (0..<2).map { _ in AlignedStorage.zeroed(newBatch * widest).baseAddress! }
    }

    private func releaseWorkspace() {
        activations.forEach { $0.deallocate() }
        gradientScratch.forEach { $0.deallocate() }
        activations = []
        gradientScratch = []
    }
}
