import NumericCore

/// What a policy network looks like: enough to rebuild it from a checkpoint.
public struct PolicyArchitecture: Sendable, Hashable, Codable {
    public var observationSize: Int
    public var actionSpace: ActionSpace
    /// Hidden widths of the actor and of the critic (separate networks, as CleanRL has them).
    public var hiddenSizes: [Int]
    public var activation: Activation
    public var logStdLower: Float
    public var logStdUpper: Float

    public init(observationSize: Int, actionSpace: ActionSpace, hiddenSizes: [Int] = [64, 64],
                activation: Activation = .tanh, logStdRange: ClosedRange<Float> = -5...2) {
        self.observationSize = observationSize
        self.actionSpace = actionSpace
        self.hiddenSizes = hiddenSizes
        self.activation = activation
        logStdLower = logStdRange.lowerBound
        logStdUpper = logStdRange.upperBound
    }

    public var actorSpec: MLPSpec {
        MLPSpec(sizes: [observationSize] + hiddenSizes + [actionSpace.outputWidth], hiddenActivation: activation)
    }

    public var criticSpec: MLPSpec {
        MLPSpec(sizes: [observationSize] + hiddenSizes + [1], hiddenActivation: activation)
    }
}

/// The actor (a shared MLP encoder whose last layer holds one head per action component), the
/// learned log-stds of the Gaussian heads, and a separate critic — all in one parameter arena,
/// so one optimiser step, one gradient-norm clip and one checkpoint write cover them all.
public final class PolicyNetwork {
    public let architecture: PolicyArchitecture
    public let arena: ParameterArena
    public let actor: MLP
    public let critic: MLP
    public let distribution: MixedDistribution
    /// 1 × (heads with a learned log-std); nil when there are none.
    public let logStdSlot: ParameterSlot?

    public init(architecture: PolicyArchitecture) {
        self.architecture = architecture
        var layout = ParameterLayout()
        let actorLayers = MLP.declare(architecture.actorSpec, name: "actor", in: &layout)
        let logStds = architecture.actionSpace.logStdCount
        logStdSlot = logStds > 0 ? layout.add("actor.log_std", rows: 1, cols: logStds) : nil
        let criticLayers = MLP.declare(architecture.criticSpec, name: "critic", in: &layout)
        arena = ParameterArena(layout: layout)
        actor = MLP(spec: architecture.actorSpec, layers: actorLayers, arena: arena)
        critic = MLP(spec: architecture.criticSpec, layers: criticLayers, arena: arena)
        distribution = MixedDistribution(space: architecture.actionSpace,
                                         logStdRange: architecture.logStdLower...architecture.logStdUpper)
    }

    /// The PPO initialisation: orthogonal weights, zero biases; gain √2 for hidden layers, 0.01
    /// for every policy head (each head's rows initialised on their own), 1 for the value head;
    /// log-std `initialLogStd[head name]`, else 0. A continuous head's mean starts at the centre
    /// of its range (its bias), as on the usual symmetric ranges, not at an edge of a range such
    /// as [0, 1].
    public func initialize(using rng: inout RandomGenerator, initialLogStd: [String: Float] = [:]) throws {
        let hiddenGain = Float(2).squareRoot()
        for layer in actor.layers.dropLast() { try layer.initialize(in: arena, gain: hiddenGain, using: &rng) }
        let head = actor.layers.last!
        let weights = arena.value(head.weight)
        for (offset, actionHead) in zip(architecture.actionSpace.outputOffsets, architecture.actionSpace.heads) {
            try OrthogonalInitializer.fill(weights.rows(offset ..< offset + actionHead.outputWidth), gain: 0.01, using: &rng)
        }
        let bias = arena.value(head.bias)
        bias.fill(0)
        for (offset, actionHead) in zip(architecture.actionSpace.outputOffsets, architecture.actionSpace.heads) {
            if case let .continuous(lower, upper) = actionHead.kind { bias[0, offset] = Float((lower + upper) / 2) }
        }
        try critic.initialize(hiddenGain: hiddenGain, outputGain: 1, using: &rng)
        if let logStd {
            let heads = architecture.actionSpace.heads.filter(\.hasLogStd)
            for (i, head) in heads.enumerated() { logStd[i] = initialLogStd[head.name] ?? 0 }
        }
    }

    /// Pointer to the log-std parameters (nil when no head has one).
    public var logStd: UnsafeMutablePointer<Float>? { logStdSlot.map { arena.values.baseAddress! + $0.offset } }
    public var logStdGradient: UnsafeMutablePointer<Float>? { logStdSlot.map { arena.gradients.baseAddress! + $0.offset } }
}
