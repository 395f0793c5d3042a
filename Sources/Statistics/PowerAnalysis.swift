import Foundation

/// Sample size and minimum detectable effect for a paired comparison (the same queries under
/// two configurations), by the normal approximation to the test of mean difference = 0 with
/// both tails counted — as statsmodels' `NormalIndPower(ratio=0)` computes it.
public enum PowerAnalysis {
    /// Power of the two-sided test at level α with n pairs for standardized effect d = Δ/σ.
    public static func power(effectSize d: Double, pairs n: Double, alpha: Double) -> Double {
        let z = NormalDistribution.quantile(1 - alpha / 2)
        let shift = d * n.squareRoot()
        return NormalDistribution.cdf(shift - z) + NormalDistribution.cdf(-shift - z)
    }

    /// Pairs needed (fractional; round up to use) to detect Δ with the given power, from the
    /// standard deviation σ of paired differences.
    public static func pairsNeeded(difference delta: Double, standardDeviation sigma: Double, alpha: Double = 0.05, power target: Double = 0.8) -> Double {
        precondition(delta != 0 && sigma > 0 && target > alpha && target < 1)
        let d = abs(delta) / sigma
        return solve(lowerBound: 1e-9) { power(effectSize: d, pairs: $0, alpha: alpha) - target }
    }

    /// The smallest |Δ| detectable with n pairs at the given power.
    public static func minimumDetectableEffect(pairs n: Double, standardDeviation sigma: Double, alpha: Double = 0.05, power target: Double = 0.8) -> Double {
        precondition(n > 0 && sigma > 0 && target > alpha && target < 1)
        return sigma * solve(lowerBound: 0) { power(effectSize: $0, pairs: n, alpha: alpha) - target }
    }

    /// The root of an increasing function above `lowerBound` by bracketing and bisection.
    private static func solve(lowerBound: Double, _ f: (Double) -> Double) -> Double {
        var low = lowerBound
        var high = max(1, lowerBound * 2)
        while f(high) < 0 { high *= 2 }
        for _ in 0..<200 {
            let mid = (low + high) / 2
            if f(mid) < 0 { low = mid } else { high = mid }
            if high - low <= 1e-13 * max(1, high) { break }
        }
        return (low + high) / 2
    }
}

/// Sample-ratio mismatch: Pearson's chi-square goodness of fit of observed traffic counts to the
/// intended split. A broken router silently biases every comparison, so a p-value below the
/// threshold (0.001 by convention) stops the analysis.
public struct SampleRatioMismatch: Sendable, Equatable {
    public var chiSquare: Double
    public var degreesOfFreedom: Int
    public var pValue: Double
    public var threshold: Double
    public var mismatch: Bool { pValue < threshold }

    public init(observed: [Int], expectedShares: [Double], threshold: Double = 0.001) {
        precondition(observed.count == expectedShares.count && observed.count >= 2, "one expected share per arm, two arms at least")
        let total = Double(observed.reduce(0, +))
        let shareSum = expectedShares.reduce(0, +)
        var chi = 0.0
        for (o, share) in zip(observed, expectedShares) {
            let expected = total * share / shareSum
            chi += (Double(o) - expected) * (Double(o) - expected) / expected
        }
        chiSquare = chi
        degreesOfFreedom = observed.count - 1
        pValue = ChiSquareDistribution.survival(chi, degreesOfFreedom: Double(degreesOfFreedom))
        self.threshold = threshold
    }
}
