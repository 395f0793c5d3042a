import Foundation

/// The mixture sequential probability ratio test with a normal mixing distribution (Robbins
/// 1970), in the always-valid form of Johari, Koomen, Pekelis & Walsh, "Peeking at A/B tests"
/// (KDD 2017): for n paired differences with mean d̄ and variance σ², and mixing variance τ²,
///
///   Λ_n = √(σ² / (σ² + nτ²)) · exp( n²τ² d̄² / (2σ²(σ² + nτ²)) ),
///
/// and p_n = min(p_{n−1}, 1/Λ_n) is a p-value that stays valid however often it is looked at:
/// reject H0 (mean 0, two-sided) as soon as p_n ≤ α.
public struct MixtureSPRT: Sendable {
    public var alpha: Double
    /// τ² relative to σ²: the spread of effect sizes the test is tuned for.
    public var mixtureVarianceRatio: Double
    public private(set) var pValue = 1.0

    public init(alpha: Double = 0.05, mixtureVarianceRatio: Double = 0.01) {
        precondition(alpha > 0 && alpha < 1 && mixtureVarianceRatio > 0)
        self.alpha = alpha
        self.mixtureVarianceRatio = mixtureVarianceRatio
    }

    /// Λ_n for n observations with mean `mean` and variance `variance`.
    public func likelihoodRatio(n: Int, mean: Double, variance: Double) -> Double {
        likelihoodRatio(effectiveN: Double(n), mean: mean, variance: variance)
    }

    func likelihoodRatio(effectiveN nd: Double, mean: Double, variance: Double) -> Double {
        guard variance > 0, nd > 0 else { return 1 }
        let tau2 = mixtureVarianceRatio * variance
        let denominator = variance + nd * tau2
        return (variance / denominator).squareRoot() * exp(nd * nd * tau2 * mean * mean / (2 * variance * denominator))
    }

    /// One sample's size, mean and variance.
    public struct Sample: Sendable, Equatable {
        public var n: Int
        public var mean: Double
        public var variance: Double
        public init(n: Int, mean: Double, variance: Double) {
            self.n = n
            self.mean = mean
            self.variance = variance
        }

        public init(_ values: [Double]) {
            n = values.count
            mean = values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
            let m = mean
            variance = values.count < 2 ? 0 : values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(values.count - 1)
        }
    }

    /// The two-sample form for independent arms of unequal size (a canary): the difference of
    /// means d̄ = x̄_t − x̄_c has variance v = σ_t²/n_t + σ_c²/n_c; with the unit variance
    /// σ² = σ_t² + σ_c², it is the mean of n_eff = σ²/v paired differences, and Λ is evaluated
    /// there (for equal arms, n_eff = n, the paired form). Returns whether H0 is rejected.
    @discardableResult
    public mutating func observe(treatment t: Sample, control c: Sample) -> Bool {
        guard t.n >= 2, c.n >= 2 else { return pValue <= alpha }
        let unit = t.variance + c.variance
        let v = t.variance / Double(t.n) + c.variance / Double(c.n)
        guard unit > 0, v > 0 else { return pValue <= alpha }
        pValue = min(pValue, 1 / likelihoodRatio(effectiveN: unit / v, mean: t.mean - c.mean, variance: unit))
        return pValue <= alpha
    }

    /// Updates the always-valid p-value with the data so far; returns whether H0 is rejected.
    @discardableResult
    public mutating func observe(n: Int, mean: Double, variance: Double) -> Bool {
        pValue = min(pValue, 1 / likelihoodRatio(n: n, mean: mean, variance: variance))
        return pValue <= alpha
    }
}
