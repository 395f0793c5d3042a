/// The health signals of one PPO update (what CleanRL logs), averaged over its minibatches.
public struct UpdateMetrics: Sendable, Codable, Equatable {
    public var update: Int
    public var globalStep: Int
    public var policyLoss: Double
    public var valueLoss: Double
    /// Joint entropy (sum over heads) and each head's.
    public var entropy: Double
    public var entropyByHead: [String: Double]
    /// Mean of (r − 1) − log r over minibatches (Schulman's low-variance estimator).
    public var approximateKL: Double
    public var clipFraction: Double
    public var explainedVariance: Double
    public var learningRate: Double
    public var clipRange: Double
    /// Epochs completed before an early stop on KL (== configured epochs otherwise).
    public var epochsCompleted: Int
    public var stoppedEarly: Bool
    /// Mean undiscounted return of the episodes that finished during this rollout, if any.
    public var meanEpisodeReturn: Double?
    public var stepsPerSecond: Double
}
