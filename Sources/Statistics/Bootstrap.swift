import Foundation
import NumericCore

/// A bootstrap confidence interval for a mean.
public struct BootstrapInterval: Sendable, Equatable, Codable {
    public var estimate: Double
    public var lower: Double
    public var upper: Double
    public var level: Double
    public var method: Bootstrap.Method
    public var resamples: Int
    /// Standard deviation of the bootstrap distribution.
    public var standardError: Double

    /// Whether the whole interval lies above zero.
    public var excludesZeroFromAbove: Bool { lower > 0 }
}

/// Seeded nonparametric bootstrap of a mean — of one sample, or of paired differences (the same
/// queries under two configurations: the within-subject design). Intervals by the percentile
/// method or by BCa (Efron 1987) computed as SciPy's `scipy.stats.bootstrap` does: bias
/// correction z₀ = Φ⁻¹(share of resampled means below the estimate), acceleration from the
/// jackknife, percentiles of the resampled means by linear interpolation.
public struct Bootstrap: Sendable {
    public enum Method: String, Sendable, Codable, CaseIterable {
        case percentile
        case bca
    }

    public var resamples: Int
    public var level: Double
    public var seed: UInt64

    public init(resamples: Int = 10_000, level: Double = 0.95, seed: UInt64 = 1) {
        precondition(resamples >= 100, "a bootstrap needs at least 100 resamples")
        precondition(level > 0 && level < 1, "confidence level must lie in (0, 1)")
        self.resamples = resamples
        self.level = level
        self.seed = seed
    }

    public func mean(_ values: [Double], method: Method = .bca) -> BootstrapInterval {
        precondition(values.count >= 2, "a bootstrap needs at least two values")
        let n = Double(values.count)
        let total = values.reduce(0, +)
        return interval(
            estimate: total / n, resampled: resampled(values, nil), jackknife: values.map { (total - $0) / (n - 1) }, method: method)
    }

    /// The interval for a ratio of sums Σx / Σd over resampled rows (self-normalised estimators).
    public func ratio(_ numerators: [Double], _ denominators: [Double], method: Method = .bca) -> BootstrapInterval {
        precondition(numerators.count >= 2 && numerators.count == denominators.count, "a ratio bootstrap needs paired rows")
        let x = numerators.reduce(0, +)
        let d = denominators.reduce(0, +)
        return interval(
            estimate: x / d, resampled: resampled(numerators, denominators),
            jackknife: zip(numerators, denominators).map { (x - $0) / (d - $1) }, method: method)
    }

    /// The interval for mean(treatment − control) over paired observations.
    public func pairedDifference(_ treatment: [Double], _ control: [Double], method: Method = .bca) -> BootstrapInterval {
        precondition(treatment.count == control.count, "paired samples differ in length: \(treatment.count) vs \(control.count)")
        return mean(zip(treatment, control).map { $0 - $1 }, method: method)
    }

    /// The means of `resamples` resamples with replacement.
    public func resampledMeans(_ values: [Double]) -> [Double] { resampled(values, nil) }

    /// Σx/n — or Σx/Σd when `denominators` are given — of each resample with replacement
    /// (indices from `RandomGenerator.fillBounded`, four running sums to keep the adds in flight).
    private func resampled(_ values: [Double], _ denominators: [Double]?) -> [Double] {
        var rng = RandomGenerator(seed: seed)
        let n = values.count
        var statistics = [Double](repeating: 0, count: resamples)
        let indices = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: n)
        defer { indices.deallocate() }
        @inline(__always) func sum(_ x: UnsafeBufferPointer<Double>) -> Double {
            var sums = (0.0, 0.0, 0.0, 0.0)
            var i = 0
            while i + 3 < n {
                sums.0 += x[Int(indices[i])]
                sums.1 += x[Int(indices[i + 1])]
                sums.2 += x[Int(indices[i + 2])]
                sums.3 += x[Int(indices[i + 3])]
                i += 4
            }
            while i < n {
                sums.0 += x[Int(indices[i])]
                i += 1
            }
            return sums.0 + sums.1 + sums.2 + sums.3
        }
        values.withUnsafeBufferPointer { x in
            (denominators ?? []).withUnsafeBufferPointer { d in
                for b in 0..<resamples {
                    rng.fillBounded(indices, bound: UInt32(n))
                    statistics[b] = sum(x) / (denominators == nil ? Double(n) : sum(d))
                }
            }
        }
        return statistics
    }

    func interval(estimate: Double, resampled: [Double], jackknife: [Double], method: Method) -> BootstrapInterval {
        let sorted = resampled.sorted()
        let tail = (1 - level) / 2
        var lowerPercent = tail * 100
        var upperPercent = (1 - tail) * 100
        if method == .bca {
            let below = Double(sorted.partitioningIndex { $0 >= estimate })
            let z0 = NormalDistribution.quantile(min(max(below / Double(sorted.count), 1e-300), 1 - 1e-16))
            let acceleration = Self.acceleration(jackknife: jackknife)
            func adjusted(_ p: Double) -> Double {
                let z = NormalDistribution.quantile(p)
                return NormalDistribution.cdf(z0 + (z0 + z) / (1 - acceleration * (z0 + z)))
            }
            lowerPercent = adjusted(tail) * 100
            upperPercent = adjusted(1 - tail) * 100
        }
        let meanOfResamples = sorted.reduce(0, +) / Double(sorted.count)
        let variance = sorted.reduce(0) { $0 + ($1 - meanOfResamples) * ($1 - meanOfResamples) } / Double(sorted.count - 1)
        return BootstrapInterval(
            estimate: estimate,
            lower: Percentile.sorted(sorted, lowerPercent),
            upper: Percentile.sorted(sorted, upperPercent),
            level: level, method: method, resamples: resamples, standardError: variance.squareRoot())
    }
}

extension Bootstrap {
    /// BCa's acceleration for the mean, from the jackknife means (total − x_i)/(n − 1).
    public static func jackknifeAcceleration(_ values: [Double]) -> Double {
        let n = Double(values.count)
        let total = values.reduce(0, +)
        return acceleration(jackknife: values.map { (total - $0) / (n - 1) })
    }

    /// Σ(θ̄ − θ_i)³ / (6·(Σ(θ̄ − θ_i)²)^{3/2}) over the leave-one-out estimates θ_i.
    static func acceleration(jackknife: [Double]) -> Double {
        let mean = jackknife.reduce(0, +) / Double(jackknife.count)
        var cubes = 0.0
        var squares = 0.0
        for theta in jackknife {
            let d = mean - theta
            squares += d * d
            cubes += d * d * d
        }
        return squares > 0 ? cubes / (6 * pow(squares, 1.5)) : 0
    }
}

extension Array where Element == Double {
    /// The first index whose element satisfies `predicate`, for a predicate that is false then
    /// true along the (sorted) array.
    func partitioningIndex(where predicate: (Double) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let mid = (low + high) / 2
            if predicate(self[mid]) { high = mid } else { low = mid + 1 }
        }
        return low
    }
}
