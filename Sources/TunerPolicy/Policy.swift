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
        scratch = [Float](repeating: 0, count: 2 * network.architecture.actionSpace.outputWidth)
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

    private func act(
        _ observation: [Float], mask: [Float]?,
        _ choose: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void
    ) -> [Float] {
        precondition(observation.count == input.cols, "policy expects \(input.cols) observation features, got \(observation.count)")
        let raw = Matrix(rows: 1, cols: observation.count, storage: observation)
        raw.withView { r in
            input.withMutableView { target in
                if let normalizer { normalizer.normalize(r, into: target) } else { target.copy(from: r) }
            }
        }
        let outputs = input.withView { network.actor.forward($0) }
        var action = [Float](repeating: 0, count: actionSpace.count)
        action.withUnsafeMutableBufferPointer { a in
            scratch.withUnsafeMutableBufferPointer { s in choose(outputs.base, a.baseAddress!, s.baseAddress!) }
        }
        return action
    }
}
