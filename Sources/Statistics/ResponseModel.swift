import NumericCore

/// A two-way model of one per-question outcome (faithfulness, latency, …) over configurations
/// that share features, fitted on what an evaluator answered:
///
///     y(c, q) = a_q + φ(c)·β + u_c + ε,   u_c ~ N(0, τ²),   ε ~ N(0, σ²)
///
/// a_q is the question's own level (the largest part of the variance: easy and hard questions),
/// φ(c)·β the configuration's effect through its features (one-hot knob values and their
/// pairs, so that evaluations of one configuration inform every configuration sharing a value),
/// and u_c what the features miss, shrunk towards zero by how many questions c was evaluated on.
/// Configurations are compared on the questions they share (mostly a prefix of one question
/// order), so the question levels cancel in their differences.
///
/// Fitted by alternating: the question levels given the effects, then β by ridge regression on
/// each configuration's mean residual weighted by its question count, then u by shrinkage with
/// σ² and τ² estimated from the residuals (empirical Bayes, τ² floored by `priorQuestions`).
public struct ResponseModel: Sendable {
    /// The active features of each configuration (indices below `featureCount`).
    public let features: [[Int]]
    public let featureCount: Int
    /// Ridge penalty on β.
    public var lambda: Double
    /// τ² is at least σ² over this many questions: with many features the fitted residuals leave
    /// almost nothing for τ², and a configuration's own answers would then count for nothing
    /// against what its knobs predict, however many there are.
    public var priorQuestions: Double
    public var iterations: Int

    public init(features: [[Int]], featureCount: Int, lambda: Double = 3, priorQuestions: Double = 20, iterations: Int = 4) {
        precondition(features.allSatisfy { $0.allSatisfy { (0..<featureCount).contains($0) } }, "feature indices within featureCount")
        precondition(lambda > 0 && priorQuestions > 0, "a positive ridge penalty and prior")
        self.features = features
        self.featureCount = featureCount
        self.lambda = lambda
        self.priorQuestions = priorQuestions
        self.iterations = iterations
    }

    public struct Fit: Sendable {
        /// a_q for each question of the order that some configuration was evaluated on.
        public var questionLevels: [Double]
        /// φ(c)·β + u_c for each configuration.
        public var effects: [Double]
        /// The posterior standard deviation of each effect's u_c part.
        public var standardErrors: [Double]
        /// Each configuration's own mean difference from the question levels, unshrunk (its
        /// effect where it was answered on no question).
        public var ownEffects: [Double]
        public var residualVariance: Double

        /// The configuration's predicted mean over the questions the levels cover.
        public func mean(_ c: Int) -> Double { questionLevels.reduce(0, +) / Double(max(questionLevels.count, 1)) + effects[c] }
    }

    /// `observed[c][i]`: configuration c's value on question `questions[c][i]` (empty rows for a
    /// configuration not evaluated); every question below the largest index is answered by some
    /// configuration, and the levels are indexed by it.
    public func fit(_ observed: [[Double]], questions asked: [[Int]]) throws -> Fit {
        precondition(observed.count == features.count && asked.count == observed.count, "one row of observations per configuration")
        precondition(zip(observed, asked).allSatisfy { $0.count == $1.count }, "one question per observation")
        let questions = (asked.compactMap { $0.max() }.max() ?? -1) + 1
        let observations = observed.reduce(0) { $0 + $1.count }
        let weights = observed.map { Double($0.count) }
        var effects = [Double](repeating: 0, count: observed.count)
        var levels = [Double](repeating: 0, count: questions)
        var standardErrors = [Double](repeating: 0, count: observed.count)
        var residualVariance = 0.0
        var ownEffects = effects
        for _ in 0..<max(iterations, 1) {
            var sums = [Double](repeating: 0, count: questions), counts = [Double](repeating: 0, count: questions)
            for (c, row) in observed.enumerated() {
                for (j, y) in zip(asked[c], row) {
                    sums[j] += y - effects[c]
                    counts[j] += 1
                }
            }
            for j in 0..<questions { levels[j] = sums[j] / max(counts[j], 1) }
            var meanResidual = [Double](repeating: 0, count: observed.count)
            var squares = 0.0
            for (c, row) in observed.enumerated() where !row.isEmpty {
                var total = 0.0
                for (j, y) in zip(asked[c], row) {
                    total += y - levels[j]
                    squares += (y - levels[j] - effects[c]) * (y - levels[j] - effects[c])
                }
                meanResidual[c] = total / Double(row.count)
            }
            residualVariance = max(squares / Double(max(observations - featureCount, 1)), 1e-12)
            let beta = try weightedRidge(meanResidual, weights: weights)
            var between = 0.0
            var linear = [Double](repeating: 0, count: observed.count)
            for c in observed.indices {
                linear[c] = features[c].reduce(0) { $0 + beta[$1] }
                between += weights[c] * (meanResidual[c] - linear[c]) * (meanResidual[c] - linear[c])
            }
            let meanWeight = Double(observations) / Double(observed.count)
            // What the features miss, beyond what σ² alone would leave in the means.
            let tau2 = max(between / Double(max(observations, 1)) - residualVariance / max(meanWeight, 1), residualVariance / priorQuestions)
            for c in observed.indices {
                let w = weights[c]
                ownEffects[c] = w > 0 ? meanResidual[c] : linear[c]
                effects[c] = linear[c] + w * (meanResidual[c] - linear[c]) / (w + residualVariance / tau2)
                standardErrors[c] = (1 / (w / residualVariance + 1 / tau2)).squareRoot()
            }
        }
        return Fit(questionLevels: levels, effects: effects, standardErrors: standardErrors, ownEffects: ownEffects, residualVariance: residualVariance)
    }

    /// β minimising Σ_c w_c (d_c − φ(c)·β)² + λ‖β‖², from the normal equations built from each
    /// configuration's few active features.
    func weightedRidge(_ targets: [Double], weights: [Double]) throws -> [Double] {
        let p = featureCount
        var gram = [Double](repeating: 0, count: p * p)
        var moment = [Double](repeating: 0, count: p)
        for (c, active) in features.enumerated() where weights[c] > 0 {
            for i in active {
                moment[i] += weights[c] * targets[c]
                for j in active { gram[i * p + j] += weights[c] }
            }
        }
        for i in 0..<p { gram[i * p + i] += lambda }
        return try LinearAlgebra.solvePositiveDefinite(gram, moment, size: p)
    }
}
