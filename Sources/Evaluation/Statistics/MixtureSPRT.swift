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
        guard variance > 0, n > 0 else { return 1 }
        let tau2 = mixtureVarianceRatio * variance
        let nd = Double(n)
        let denominator = variance + nd * tau2
        return (variance / denominator).squareRoot() * exp(nd * nd * tau2 * mean * mean / (2 * variance * denominator))
    }

    /// Updates the always-valid p-value with the data so far; returns whether H0 is rejected.
    @discardableResult
    public mutating func observe(n: Int, mean: Double, variance: Double) -> Bool {
        pValue = min(pValue, 1 / likelihoodRatio(n: n, mean: mean, variance: variance))
        return pValue <= alpha
    }
}
