/// Off-policy evaluation: the value a target policy π would have had, estimated from decisions
/// logged under another policy μ (Dudík, Langford & Li 2011; Wang, Agarwal & Dudík 2017).
///
/// For logged rows i with reward r_i, logging propensity μ_i = μ(a_i|x_i), target probability
/// π_i = π(a_i|x_i) and importance weight w_i = π_i/μ_i, and a reward model r̂ giving r̂_i =
/// r̂(x_i, a_i) and r̂_π(x_i) = E_{a∼π} r̂(x_i, a):
///
/// - IPS:       mean(w_i r_i)
/// - SNIPS:     Σ w_i r_i / Σ w_i
/// - DM:        mean(r̂_π(x_i))
/// - DR:        mean(r̂_π(x_i) + w_i (r_i − r̂_i))
/// - switch-DR: mean(r̂_π(x_i) + 1[w_i ≤ τ] w_i (r_i − r̂_i)) — rows whose weight exceeds τ fall
///              back on the model
///
/// each with a bootstrap interval over rows, and the effective sample size (Σw)²/Σw² of the
/// importance weights (Kish).
public struct OffPolicyEvaluation: Sendable {
    public enum Estimator: String, Sendable, CaseIterable, Codable {
        case ips, snips, dm, dr
        case switchDR = "switch-dr"
    }

    public enum Failure: Error, CustomStringConvertible, Equatable {
        case missingPropensity(row: Int)
        case invalidPropensity(row: Int, value: Double)
        case invalidValue(row: Int, field: String, value: Double)
        case noModel(Estimator)
        case tooFewRows(Int)

        public var description: String {
            switch self {
            case .missingPropensity(let row): "row \(row): the logging propensity is missing; importance weights need it"
            case .invalidPropensity(let row, let value): "row \(row): logging propensity \(value) must be a positive, finite probability"
            case .invalidValue(let row, let field, let value): "row \(row): \(field) is \(value), not a finite number"
            case .noModel(let estimator): "\(estimator.rawValue) needs reward-model predictions"
            case .tooFewRows(let count): "off-policy evaluation needs at least 2 logged rows, got \(count)"
            }
        }
    }

    public struct Estimate: Sendable, Equatable {
        public var estimator: Estimator
        public var value: Double
        public var interval: BootstrapInterval
        public var effectiveSampleSize: Double
        /// Set when the effective sample size is too small for the estimate to be trusted.
        public var warning: String?
    }

    public let rewards: [Double]
    public let weights: [Double]
    /// r̂(x_i, a_i) and E_{a∼π} r̂(x_i, a), when a reward model was fit.
    public let predictedLogged: [Double]?
    public let predictedTarget: [Double]?

    /// Validates every row: propensities present, positive and finite; rewards, target
    /// probabilities and predictions finite. Row numbers in errors are 1-based.
    public init(
        rewards: [Double], loggingPropensities: [Double?], targetProbabilities: [Double],
        predictedLogged: [Double]? = nil, predictedTarget: [Double]? = nil
    ) throws {
        let n = rewards.count
        guard n >= 2 else { throw Failure.tooFewRows(n) }
        precondition(loggingPropensities.count == n && targetProbabilities.count == n, "one propensity and target probability per row")
        var weights: [Double] = []
        weights.reserveCapacity(n)
        for i in 0..<n {
            guard let mu = loggingPropensities[i] else { throw Failure.missingPropensity(row: i + 1) }
            guard mu.isFinite, mu > 0 else { throw Failure.invalidPropensity(row: i + 1, value: mu) }
            guard rewards[i].isFinite else { throw Failure.invalidValue(row: i + 1, field: "reward", value: rewards[i]) }
            guard targetProbabilities[i].isFinite, targetProbabilities[i] >= 0 else {
                throw Failure.invalidValue(row: i + 1, field: "target probability", value: targetProbabilities[i])
            }
            weights.append(targetProbabilities[i] / mu)
        }
        for (field, values) in [("predicted reward", predictedLogged), ("predicted target reward", predictedTarget)] {
            if let values, let bad = values.firstIndex(where: { !$0.isFinite }) {
                throw Failure.invalidValue(row: bad + 1, field: field, value: values[bad])
            }
        }
        self.rewards = rewards
        self.weights = weights
        self.predictedLogged = predictedLogged
        self.predictedTarget = predictedTarget
    }

    /// Kish's effective sample size of the importance weights, (Σw)² / Σw².
    public var effectiveSampleSize: Double {
        let sum = weights.reduce(0, +)
        let squares = weights.reduce(0) { $0 + $1 * $1 }
        return squares > 0 ? sum * sum / squares : 0
    }

    /// The estimate with a bootstrap interval; warns when the effective sample size is below
    /// `minimumEffectiveShare` of the rows or below 30.
    public func estimate(
        _ estimator: Estimator, switchThreshold: Double = 10, bootstrap: Bootstrap = Bootstrap(),
        minimumEffectiveShare: Double = 0.1
    ) throws -> Estimate {
        let n = rewards.count
        let interval: BootstrapInterval
        switch estimator {
        case .ips:
            interval = bootstrap.mean((0..<n).map { weights[$0] * rewards[$0] })
        case .snips:
            interval = bootstrap.ratio((0..<n).map { weights[$0] * rewards[$0] }, weights)
        case .dm, .dr, .switchDR:
            guard let logged = predictedLogged, let target = predictedTarget else { throw Failure.noModel(estimator) }
            interval = bootstrap.mean((0..<n).map { i in
                let correction = weights[i] * (rewards[i] - logged[i])
                switch estimator {
                case .dm: return target[i]
                case .dr: return target[i] + correction
                default: return target[i] + (weights[i] <= switchThreshold ? correction : 0)
                }
            })
        }
        let ess = effectiveSampleSize
        // The direct method uses no importance weights; the others rest on them.
        let warning = estimator != .dm && ess < max(30, minimumEffectiveShare * Double(n))
            ? "effective sample size \(Int(ess.rounded())) of \(n) rows: the target policy is far from the logging policy; do not trust this estimate"
            : nil
        return Estimate(estimator: estimator, value: interval.estimate, interval: interval, effectiveSampleSize: ess, warning: warning)
    }
}
