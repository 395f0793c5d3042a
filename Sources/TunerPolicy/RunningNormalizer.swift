import NumericCore

/// Running mean and variance of observation features (Chan et al.'s parallel update, in Double),
/// used to normalise them as (x − μ)/√(σ² + 1e-8), clipped to ±`clip`. It is part of the
/// policy: it travels in the checkpoint so a deployed policy sees the inputs it was trained on.
public struct RunningNormalizer: Sendable, Equatable, Codable {
    public private(set) var mean: [Double]
    public private(set) var variance: [Double]
    /// Starts at a tiny positive count, as Stable-Baselines3 does, so the first update dominates.
    public private(set) var count: Double
    public var clip: Double

    public init(size: Int, clip: Double = 10) {
        mean = [Double](repeating: 0, count: size)
        variance = [Double](repeating: 1, count: size)
        count = 1e-4
        self.clip = clip
    }

    public init(mean: [Double], variance: [Double], count: Double, clip: Double) {
        precondition(mean.count == variance.count, "normalizer: mean and variance sizes differ")
        self.mean = mean
        self.variance = variance
        self.count = count
        self.clip = clip
    }

    public var size: Int { mean.count }

    /// Folds a batch of rows (B × size) into the statistics.
    public mutating func update(_ batch: MatrixView) {
        precondition(batch.cols == size, "normalizer: \(batch.cols) features, expected \(size)")
        let n = Double(batch.rows)
        guard n > 0 else { return }
        for c in 0..<size {
            var batchMean = 0.0
            for r in 0..<batch.rows { batchMean += Double(batch[r, c]) }
            batchMean /= n
            var batchVariance = 0.0
            for r in 0..<batch.rows {
                let d = Double(batch[r, c]) - batchMean
                batchVariance += d * d
            }
            batchVariance /= n
            let delta = batchMean - mean[c]
            let total = count + n
            let m2 = variance[c] * count + batchVariance * n + delta * delta * count * n / total
            mean[c] += delta * n / total
            variance[c] = m2 / total
        }
        count += n
    }

    /// Folds one observation of a single feature into the statistics (reward scaling's running
    /// discounted return).
    public mutating func update(scalar value: Double) {
        precondition(size == 1, "normalizer: update(scalar:) on \(size) features")
        let total = count + 1
        let delta = value - mean[0]
        mean[0] += delta / total
        variance[0] = (variance[0] * count + delta * delta * count / total) / total
        count = total
    }

    /// Normalises `source` into `target` (same shape; may alias).
    public func normalize(_ source: MatrixView, into target: MutableMatrixView) {
        precondition(source.cols == size && target.cols == size && source.rows == target.rows, "normalizer: shape mismatch")
        for c in 0..<size {
            let inverseStd = 1 / (variance[c] + 1e-8).squareRoot()
            for r in 0..<source.rows {
                let z = (Double(source[r, c]) - mean[c]) * inverseStd
                target[r, c] = Float(min(max(z, -clip), clip))
            }
        }
    }
}
