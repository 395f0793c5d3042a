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

/// Sums of the loss terms over an update's minibatch steps, averaged into ``UpdateMetrics``.
struct LossTotals {
    var policyLoss = 0.0, valueLoss = 0.0, approximateKL = 0.0, clipFraction = 0.0
    var entropies: [Double]
    var minibatches = 0

    init(heads: Int) { entropies = [Double](repeating: 0, count: heads) }

    mutating func add(_ terms: PPOLoss.Terms) {
        policyLoss += terms.policyLoss
        valueLoss += terms.valueLoss
        approximateKL += terms.approximateKL
        clipFraction += terms.clipFraction
        for h in entropies.indices { entropies[h] += terms.meanEntropies[h] }
        minibatches += 1
    }

    func metrics(
        update: Int, globalStep: Int, heads: [String], explainedVariance: Double, learningRate: Float, clipRange: Float,
        epochsCompleted: Int, stoppedEarly: Bool, finishedReturns: [Double]
    ) -> UpdateMetrics {
        let count = Double(max(minibatches, 1))
        let meanEntropies = entropies.map { $0 / count }
        return UpdateMetrics(
            update: update, globalStep: globalStep, policyLoss: policyLoss / count, valueLoss: valueLoss / count,
            entropy: meanEntropies.reduce(0, +), entropyByHead: Dictionary(uniqueKeysWithValues: zip(heads, meanEntropies)),
            approximateKL: approximateKL / count, clipFraction: clipFraction / count, explainedVariance: explainedVariance,
            learningRate: Double(learningRate), clipRange: Double(clipRange), epochsCompleted: epochsCompleted,
            stoppedEarly: stoppedEarly,
            meanEpisodeReturn: finishedReturns.isEmpty ? nil : finishedReturns.reduce(0, +) / Double(finishedReturns.count),
            stepsPerSecond: 0)
    }
}
