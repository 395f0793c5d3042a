import NumericCore

/// A trained policy for acting: normalise the observation with the stored statistics, run the
/// actor, and take the mode of every head (or sample).
public final class Policy {
    public let network: PolicyNetwork
    /// nil when the policy was trained on raw observations.
    public let normalizer: RunningNormalizer?
    private var input: Matrix
    private var scratch: [Float]

    public init(network: PolicyNetwork, normalizer: RunningNormalizer?) {
        self.network = network
        self.normalizer = normalizer
        input = Matrix(rows: 1, cols: network.architecture.observationSize)
        scratch = [Float](repeating: 0, count: network.architecture.actionSpace.scratchCount)
    }

    public convenience init(checkpoint: PolicyCheckpoint) {
        self.init(network: checkpoint.makeNetwork(), normalizer: checkpoint.normalizer)
    }

    public var actionSpace: ActionSpace { network.architecture.actionSpace }

    /// The mode of every head for one observation (stored action form: indices, 0/1, reals).
    public func deterministicAction(_ observation: [Float], mask: [Float]? = nil) -> [Float] {
        act(observation, mask: mask) { outputs, action, scratch in
            _ = network.distribution.mode(outputs: outputs, logStd: network.logStd, mask: mask, into: action, scratch: scratch)
        }
    }

    /// A sampled action for one observation.
    public func sampledAction(_ observation: [Float], mask: [Float]? = nil, using rng: inout RandomGenerator) -> [Float] {
        act(observation, mask: mask) { outputs, action, scratch in
            _ = network.distribution.sample(outputs: outputs, logStd: network.logStd, mask: mask, into: action, scratch: scratch, using: &rng)
        }
    }

    /// log π(action | observation): a log-probability for the discrete heads times, for a
    /// continuous head, the log-density of its stored (unclipped) value — what importance
    /// weights in off-policy evaluation divide.
    public func logProbability(of action: [Float], given observation: [Float], mask: [Float]? = nil) -> Float {
        precondition(action.count == actionSpace.count, "action has \(action.count) heads, the policy \(actionSpace.count)")
        let outputs = forward(observation)
        let actions = Matrix(rows: 1, cols: action.count, storage: action)
        let masks = mask.map { Matrix(rows: 1, cols: $0.count, storage: $0) }
        return network.distribution.evaluate(outputs: outputs, logStd: network.logStd, actions: actions, masks: masks).logProbs[0]
    }

    /// The actor's outputs for one (normalised) observation; valid until the next call.
    private func forward(_ observation: [Float]) -> MatrixView {
        precondition(observation.count == input.cols, "policy expects \(input.cols) observation features, got \(observation.count)")
        let raw = Matrix(rows: 1, cols: observation.count, storage: observation)
        raw.withView { r in
            input.withMutableView { target in
                if let normalizer { normalizer.normalize(r, into: target) } else { target.copy(from: r) }
            }
        }
        return input.withView { network.actor.forward($0) }
    }

    private func act(
        _ observation: [Float], mask: [Float]?,
        _ choose: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void
    ) -> [Float] {
        let outputs = forward(observation)
        var action = [Float](repeating: 0, count: actionSpace.count)
        action.withUnsafeMutableBufferPointer { a in
            scratch.withUnsafeMutableBufferPointer { s in choose(outputs.base, a.baseAddress!, s.baseAddress!) }
        }
        return action
    }
}
