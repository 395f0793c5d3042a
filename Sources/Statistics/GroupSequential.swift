import Foundation

/// Lan–DeMets alpha-spending functions: how much of the one-sided α may be spent by
/// information fraction t ∈ (0, 1].
public enum AlphaSpending: String, Sendable, Codable, CaseIterable {
    /// α(t) = 2 − 2Φ(z_{1−α/2} / √t): spends almost nothing early (O'Brien–Fleming-like).
    case obrienFleming = "obrien-fleming"
    /// α(t) = α · ln(1 + (e − 1)·t): spends evenly (Pocock-like).
    case pocock

    public func spent(_ alpha: Double, at t: Double) -> Double {
        guard t > 0 else { return 0 }
        let fraction = min(t, 1)
        switch self {
        case .obrienFleming:
            // 2·Φ(−z/√t) rather than 2 − 2Φ(z/√t): the early looks' tiny spend keeps its digits.
            return 2 * NormalDistribution.cdf(-NormalDistribution.quantile(1 - alpha / 2) / fraction.squareRoot())
        case .pocock:
            return alpha * log(1 + (M_E - 1) * fraction)
        }
    }
}

/// One-sided efficacy boundaries for a test looked at K times as data arrives: reject at look k
/// when the z statistic reaches `boundaries[k]`.
public struct GroupSequentialDesign: Sendable, Equatable {
    public var informationFractions: [Double]
    public var boundaries: [Double]
    public var alpha: Double
    /// Probability under H0 of first crossing at each look.
    public var crossingProbabilities: [Double]

    /// Boundaries from an alpha-spending function, each look's boundary solved so that the
    /// probability of first crossing there, from the joint distribution of the looks computed
    /// by numerical integration (Armitage, McPherson & Rowe 1969; Jennison & Turnbull 2000,
    /// ch. 19), equals the α spent since the previous look.
    public static func spending(
        _ function: AlphaSpending, alpha: Double, informationFractions t: [Double], gridPoints: Int = 1201
    ) -> GroupSequentialDesign {
        Self.validate(t, alpha)
        var integrator = SequentialIntegrator(fractions: t, gridPoints: gridPoints)
        var boundaries: [Double] = []
        var crossings: [Double] = []
        var spentSoFar = 0.0
        for k in t.indices {
            let target = function.spent(alpha, at: t[k]) - spentSoFar
            let b = integrator.solveBoundary(look: k, crossingProbability: target)
            boundaries.append(b)
            let p = integrator.crossingProbability(look: k, boundary: b)
            crossings.append(p)
            spentSoFar += p
            integrator.advance(look: k, boundary: b)
        }
        return GroupSequentialDesign(informationFractions: t, boundaries: boundaries, alpha: alpha, crossingProbabilities: crossings)
    }

    /// The classical O'Brien–Fleming design: boundaries C / √t_k with C chosen so that the
    /// overall one-sided type I error is α.
    public static func classicalOBrienFleming(alpha: Double, informationFractions t: [Double], gridPoints: Int = 1201) -> GroupSequentialDesign {
        Self.validate(t, alpha)
        func design(_ c: Double) -> GroupSequentialDesign {
            let boundaries = t.map { c / $0.squareRoot() }
            var integrator = SequentialIntegrator(fractions: t, gridPoints: gridPoints)
            var crossings: [Double] = []
            for k in t.indices {
                crossings.append(integrator.crossingProbability(look: k, boundary: boundaries[k]))
                integrator.advance(look: k, boundary: boundaries[k])
            }
            return GroupSequentialDesign(informationFractions: t, boundaries: boundaries, alpha: alpha, crossingProbabilities: crossings)
        }
        var low = NormalDistribution.quantile(1 - alpha)
        var high = low + 3
        for _ in 0..<60 {
            let mid = (low + high) / 2
            if design(mid).crossingProbabilities.reduce(0, +) > alpha { low = mid } else { high = mid }
        }
        return design((low + high) / 2)
    }

    /// Equally spaced looks: 1/K, 2/K, …, 1.
    public static func equallySpaced(_ looks: Int) -> [Double] { (1...looks).map { Double($0) / Double(looks) } }

    private static func validate(_ t: [Double], _ alpha: Double) {
        precondition(!t.isEmpty && zip(t, t.dropFirst()).allSatisfy { $0 < $1 } && t.first! > 0 && t.last! <= 1,
                     "information fractions must increase within (0, 1]")
        precondition(alpha > 0 && alpha < 0.5, "one-sided α must lie in (0, 0.5)")
    }
}

/// The sub-density of the score statistic S_k = Z_k·√t_k on the continuation region
/// (S_j < b_j·√t_j for every earlier look), on a grid with Simpson weights. S has independent
/// increments N(0, t_k − t_{k−1}) under H0.
struct SequentialIntegrator {
    let fractions: [Double]
    let gridPoints: Int
    /// Grid points and density × Simpson weight after the last `advance`; empty before look 0.
    private var points: [Double] = []
    private var weightedDensity: [Double] = []

    init(fractions: [Double], gridPoints: Int) {
        self.fractions = fractions
        self.gridPoints = gridPoints | 1  // Simpson needs an odd count
    }

    private func increment(_ k: Int) -> Double { fractions[k] - (k > 0 ? fractions[k - 1] : 0) }

    /// P(no crossing before look k, Z_k ≥ boundary).
    func crossingProbability(look k: Int, boundary: Double) -> Double {
        let sd = increment(k).squareRoot()
        let threshold = boundary * fractions[k].squareRoot()
        guard k > 0 else { return 1 - NormalDistribution.cdf(threshold / sd) }
        var p = 0.0
        for i in points.indices {
            p += weightedDensity[i] * 0.5 * erfc((threshold - points[i]) / (sd * 2.0.squareRoot()))
        }
        return p
    }

    func solveBoundary(look k: Int, crossingProbability target: Double) -> Double {
        guard target > 0 else { return .infinity }
        var low = -2.0
        var high = 40.0
        for _ in 0..<100 {
            let mid = (low + high) / 2
            if crossingProbability(look: k, boundary: mid) > target { low = mid } else { high = mid }
        }
        return (low + high) / 2
    }

    /// Moves to the sub-density at look k restricted to S_k < boundary·√t_k.
    mutating func advance(look k: Int, boundary: Double) {
        let sd = increment(k).squareRoot()
        let upper = min(boundary, 40) * fractions[k].squareRoot()
        let lower = -12 * fractions[k].squareRoot()
        let n = gridPoints
        let h = (upper - lower) / Double(n - 1)
        let newPoints = (0..<n).map { lower + Double($0) * h }
        let simpson = (0..<n).map { i -> Double in
            (i == 0 || i == n - 1 ? 1 : (i % 2 == 1 ? 4 : 2)) * h / 3
        }
        var density = [Double](repeating: 0, count: n)
        if k == 0 {
            for i in 0..<n { density[i] = NormalDistribution.density(newPoints[i] / sd) / sd }
        } else {
            let normalizer = 1 / (sd * (2 * Double.pi).squareRoot())
            let inverseVariance = 1 / (2 * sd * sd)
            for i in 0..<n {
                var f = 0.0
                let s = newPoints[i]
                for j in points.indices {
                    let d = s - points[j]
                    f += weightedDensity[j] * exp(-d * d * inverseVariance)
                }
                density[i] = f * normalizer
            }
        }
        points = newPoints
        weightedDensity = zip(density, simpson).map(*)
    }
}
