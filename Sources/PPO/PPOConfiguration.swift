import NumericCore

/// Every PPO hyperparameter, with CleanRL's `ppo.py` defaults unless a comment says otherwise.
public struct PPOConfiguration: Sendable, Hashable, Codable {
    /// Environments stepped together in one process (N).
    public var environmentCount = 8
    /// Steps per environment per rollout (T); a rollout holds N·T transitions.
    public var stepsPerRollout = 128
    /// Environment steps of the whole run; updates = totalSteps / (N·T).
    public var totalSteps = 100_000
    /// Transitions per minibatch.
    public var minibatchSize = 256
    /// Passes over each rollout (K).
    public var epochs = 4
    /// Discount γ.
    public var gamma = 0.99
    /// GAE λ.
    public var gaeLambda = 0.95
    /// Adam learning rate at the first update.
    public var learningRate: Float = 2.5e-4
    /// Anneal the learning rate linearly to 0 over the run.
    public var annealLearningRate = true
    /// Adam ε (PPO implementations use 1e-5).
    public var adamEpsilon: Float = 1e-5
    /// Surrogate clip ε at the first update.
    public var clipRange: Float = 0.2
    /// Anneal the clip range linearly to 0 (RL-Zoo's `lin_0.2`).
    public var annealClipRange = false
    /// Clip the value loss around the old values with the same ε (ppo2 style).
    public var clipValueLoss = false
    /// Entropy bonus coefficient for every head…
    public var entropyCoefficient: Float = 0.0
    /// …unless overridden here by head name (a Gaussian's differential entropy has another scale).
    public var entropyCoefficientByHead: [String: Float] = [:]
    /// Initial log-std of a head with a learned width (Gaussian, log-normal), by head name; 0
    /// (σ = 1 in the head's units) for a head not listed. A narrow start suits a head whose
    /// action is judged deterministically at its mean and whose range holds a cliff: the width
    /// shrinks slowly under a reward shared with the other heads, and the mean learned under wide
    /// noise keeps away from the cliff more than the deterministic optimum does.
    public var initialLogStdByHead: [String: Float] = [:]
    /// Anneal a head's width, by head name: its log-std is capped by a ceiling that falls
    /// linearly from the head's initial log-std at the first update to this value at the last
    /// (applied before each rollout). For a head judged at its mode: the mean learned under
    /// narrow noise is the deterministic optimum, not the best centre of a wide spread.
    public var finalLogStdByHead: [String: Float] = [:]
    /// Value loss coefficient.
    public var valueCoefficient: Float = 0.5
    /// Global gradient-norm clip over all parameters together.
    public var maxGradientNorm: Float = 0.5
    /// Normalise advantages within each minibatch.
    public var normalizeAdvantages = true
    /// Stop the epochs of an update when a minibatch's approximate KL exceeds 1.5 × this
    /// (Stable-Baselines3's rule); nil disables it.
    public var targetKL: Float? = nil
    /// Adapt the learning rate to the target KL after each update (÷1.5 when KL > 2·target,
    /// ×1.5 when KL < target/2, within [1e-6, 1e-2]); replaces annealing. Needs `targetKL`.
    public var klAdaptiveLearningRate = false
    /// Normalise observations with running statistics (clipped to ±10).
    public var normalizeObservations = true
    /// Divide rewards by the running standard deviation of the discounted return (off by default).
    public var scaleRewards = false
    /// Hidden widths of the actor and the critic.
    public var hiddenSizes = [64, 64]
    /// Seed of every random stream: initialisation, environments, sampling, shuffling.
    public var seed: UInt64 = 1

    public init() {}

    public var transitionsPerRollout: Int { environmentCount * stepsPerRollout }
    public var updateCount: Int { max(1, totalSteps / transitionsPerRollout) }

    public func entropyCoefficient(forHead name: String) -> Float {
        entropyCoefficientByHead[name] ?? entropyCoefficient
    }

    /// The most a head's log-std may be before update `update` (0-based) of the run: nil for a
    /// head whose width is not annealed.
    public func logStdCeiling(forHead name: String, update: Int) -> Float? {
        finalLogStdByHead[name].map {
            LearningRateSchedule.linear(initial: initialLogStdByHead[name] ?? 0, final: $0).value(update: update, of: max(updateCount - 1, 1))
        }
    }

    /// Checks ranges; the message names the field and the allowed range.
    public func validate() throws {
        func require(_ ok: Bool, _ field: String, _ allowed: String) throws {
            if !ok { throw PPOError.invalidConfiguration(field: field, allowed: allowed) }
        }
        try require(environmentCount >= 1, "environmentCount", "≥ 1")
        try require(stepsPerRollout >= 1, "stepsPerRollout", "≥ 1")
        try require(totalSteps >= transitionsPerRollout, "totalSteps", "≥ environmentCount × stepsPerRollout")
        try require(minibatchSize >= 1 && minibatchSize <= transitionsPerRollout, "minibatchSize", "1...environmentCount × stepsPerRollout")
        try require(epochs >= 1, "epochs", "≥ 1")
        try require((0...1).contains(gamma), "gamma", "[0, 1]")
        try require((0...1).contains(gaeLambda), "gaeLambda", "[0, 1]")
        // Bounds that keep Adam and the loss finite: a rate above 1 or an epsilon of 0 sends the
        // weights to NaN within an update.
        try require(learningRate > 0 && learningRate <= 1, "learningRate", "(0, 1]")
        try require(adamEpsilon >= 1e-12 && adamEpsilon <= 1, "adamEpsilon", "[1e-12, 1]")
        try require(clipRange > 0 && clipRange <= 10, "clipRange", "(0, 10]")
        try require(maxGradientNorm > 0 && maxGradientNorm <= 1e6, "maxGradientNorm", "(0, 1e6]")
        try require(valueCoefficient >= 0 && valueCoefficient <= 100, "valueCoefficient", "[0, 100]")
        for (head, value) in [("", entropyCoefficient)] + entropyCoefficientByHead.sorted(by: { $0.key < $1.key }) {
            try require(value >= 0 && value <= 100, head.isEmpty ? "entropyCoefficient" : "entropyCoefficientByHead[\(head)]", "[0, 100]")
        }
        try require(!klAdaptiveLearningRate || targetKL != nil, "klAdaptiveLearningRate", "requires targetKL")
        try require(targetKL.map { $0 > 0 && $0.isFinite } ?? true, "targetKL", "> 0")
        try require(!hiddenSizes.isEmpty && hiddenSizes.count <= 8 && hiddenSizes.allSatisfy { (1...4096).contains($0) }, "hiddenSizes", "1 to 8 widths in 1...4096")
        for (field, byHead) in [("initialLogStdByHead", initialLogStdByHead), ("finalLogStdByHead", finalLogStdByHead)] {
            for (head, value) in byHead.sorted(by: { $0.key < $1.key }) {
                try require(value.isFinite && value >= -5 && value <= 2, "\(field)[\(head)]", "in [-5, 2] (the log-std clamp)")
            }
        }
    }
}

public enum PPOError: Error, CustomStringConvertible, Equatable {
    case invalidConfiguration(field: String, allowed: String)
    case nonFinite(quantity: String, location: String)
    case incompatibleCheckpoint(String)

    public var description: String {
        switch self {
        case let .invalidConfiguration(field, allowed): "invalid PPO configuration: \(field) must be \(allowed)"
        case let .nonFinite(quantity, location): "non-finite \(quantity) at \(location); training stopped before the optimiser step"
        case let .incompatibleCheckpoint(reason): "cannot resume: \(reason)"
        }
    }
}
