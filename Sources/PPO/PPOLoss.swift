import Foundation

/// PPO's minibatch objective as CleanRL's `ppo.py` writes it, with its gradient with respect to
/// what the network produces — the new log-probabilities, values and head entropies — from
/// which the distribution and the MLPs backpropagate:
///
///     Â    = (A − mean A) / (std A + 1e-8)                 (within the minibatch, when asked)
///     r    = exp(log π(a|s) − log π_old(a|s))
///     L_π  = mean(max(−Â·r, −Â·clip(r, 1 − ε, 1 + ε)))
///     L_V  = ½·mean((V − R)²), or ½·mean(max((V − R)², (V_old + clip(V − V_old, ±ε) − R)²))
///     L    = L_π + c_v·L_V − Σ_h c_h·mean(H_h)
///
///     ∂L/∂log π = −Â·r/M where the unclipped term is the larger, else 0
///     ∂L/∂V     = c_v·(V − R)/M, or through the clipped value where that term is the larger
///                 (c_v·(V_clip − R)/M inside ±ε, 0 outside)
///     ∂L/∂H_h   = −c_h/M
///
/// M is the minibatch size. One entropy coefficient per head, where CleanRL has one for all.
public struct PPOLoss: Sendable {
    /// ε.
    public var clipRange: Float
    /// c_v.
    public var valueCoefficient: Float
    public var clipValueLoss: Bool
    public var normalizeAdvantages: Bool
    /// c_h, one per head.
    public var entropyCoefficients: [Float]

    /// The loss `configuration` asks for over heads `heads`, at this update's clip range.
    public init(_ configuration: PPOConfiguration, clipRange: Float, heads: [String]) {
        self.clipRange = clipRange
        valueCoefficient = configuration.valueCoefficient
        clipValueLoss = configuration.clipValueLoss
        normalizeAdvantages = configuration.normalizeAdvantages
        entropyCoefficients = heads.map { configuration.entropyCoefficient(forHead: $0) }
    }

    /// The loss of one minibatch, its parts, and its gradients.
    public struct Terms: Sendable {
        /// L.
        public var total: Double
        /// L_π.
        public var policyLoss: Double
        /// L_V, before c_v.
        public var valueLoss: Double
        /// mean(H_h) per head.
        public var meanEntropies: [Double]
        /// mean((r − 1) − log r), Schulman's low-variance estimator of KL(π_old ‖ π).
        public var approximateKL: Double
        /// Share of rows with |r − 1| > ε.
        public var clipFraction: Double
        /// ∂L/∂log π per row.
        public var logProbGradient: [Float]
        /// ∂L/∂V per row.
        public var valueGradient: [Float]
        /// ∂L/∂H_h per head, then row.
        public var entropyGradient: [[Float]]
    }

    /// `entropies` is per head, then row; the other arrays are per row.
    public func evaluate(
        newLogProbs: [Float], oldLogProbs: [Float], advantages: [Float],
        newValues: [Float], oldValues: [Float], returns: [Float], entropies: [[Float]]
    ) -> Terms {
        let rows = newLogProbs.count
        precondition([oldLogProbs.count, advantages.count, newValues.count, oldValues.count, returns.count].allSatisfy { $0 == rows }
                     && entropies.count == entropyCoefficients.count && entropies.allSatisfy { $0.count == rows },
                     "PPO loss: inputs of different lengths")
        let m = Float(rows)
        let advantages = normalizeAdvantages ? Self.normalized(advantages) : advantages

        var policyLoss = 0.0, kl = 0.0, clipped = 0.0
        var logProbGradient = [Float](repeating: 0, count: rows)
        for k in 0..<rows {
            let logRatio = newLogProbs[k] - oldLogProbs[k]
            let ratio = Foundation.exp(logRatio)
            kl += Double((ratio - 1) - logRatio)
            if abs(ratio - 1) > clipRange { clipped += 1 }
            let unclipped = -advantages[k] * ratio
            let clippedLoss = -advantages[k] * min(max(ratio, 1 - clipRange), 1 + clipRange)
            policyLoss += Double(max(unclipped, clippedLoss))
            if unclipped >= clippedLoss { logProbGradient[k] = -advantages[k] * ratio / m }
        }

        var valueLoss = 0.0
        var valueGradient = [Float](repeating: 0, count: rows)
        for k in 0..<rows {
            let v = newValues[k], target = returns[k], old = oldValues[k]
            var loss = (v - target) * (v - target)
            var gradient = v - target
            if clipValueLoss {
                let vClipped = old + min(max(v - old, -clipRange), clipRange)
                let clippedLoss = (vClipped - target) * (vClipped - target)
                if clippedLoss > loss {
                    loss = clippedLoss
                    gradient = abs(v - old) < clipRange ? vClipped - target : 0
                }
            }
            valueLoss += Double(0.5 * loss)
            valueGradient[k] = valueCoefficient * gradient / m
        }

        let meanEntropies = entropies.map { Double($0.reduce(0, +)) / Double(rows) }
        policyLoss /= Double(rows)
        valueLoss /= Double(rows)
        let entropyBonus = zip(entropyCoefficients, meanEntropies).map { Double($0) * $1 }.reduce(0, +)
        return Terms(
            total: policyLoss + Double(valueCoefficient) * valueLoss - entropyBonus,
            policyLoss: policyLoss, valueLoss: valueLoss, meanEntropies: meanEntropies,
            approximateKL: kl / Double(rows), clipFraction: clipped / Double(rows),
            logProbGradient: logProbGradient, valueGradient: valueGradient,
            entropyGradient: entropyCoefficients.map { [Float](repeating: -$0 / m, count: rows) })
    }

    /// Advantages standardised within the minibatch (sample std); a minibatch of one is left as is.
    static func normalized(_ advantages: [Float]) -> [Float] {
        let rows = advantages.count
        guard rows > 1 else { return advantages }
        let mean = advantages.reduce(0, +) / Float(rows)
        let std = (advantages.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(rows - 1)).squareRoot()
        return advantages.map { ($0 - mean) / (std + 1e-8) }
    }
}

/// The two uses of the target KL: Stable-Baselines3's early stop, checked before each
/// minibatch's step (CleanRL checks once per epoch, at 1×), and an adaptive learning rate.
struct KLControl {
    /// A minibatch whose approximate KL passes this multiple of the target ends the update's epochs.
    static let earlyStopFactor = 1.5
    /// After an update, KL above this multiple of the target divides the rate by `rateFactor`…
    static let tooFarFactor = 2.0
    /// …and KL below this multiple multiplies it.
    static let tooCloseFactor = 0.5
    static let rateFactor: Float = 1.5
    /// The adapted rate stays within these bounds.
    static let rateRange: ClosedRange<Float> = 1e-6...1e-2

    /// nil disables both rules.
    let target: Float?

    func stopsEpochs(minibatchKL kl: Double) -> Bool {
        guard let target else { return false }
        return kl > Self.earlyStopFactor * Double(target)
    }

    /// The learning rate for the next update given this update's mean approximate KL.
    func adaptedLearningRate(_ rate: Float, meanKL kl: Double) -> Float {
        guard let target else { return rate }
        if kl > Self.tooFarFactor * Double(target) { return max(rate / Self.rateFactor, Self.rateRange.lowerBound) }
        if kl < Self.tooCloseFactor * Double(target) { return min(rate * Self.rateFactor, Self.rateRange.upperBound) }
        return rate
    }
}
