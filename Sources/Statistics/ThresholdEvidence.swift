/// How likely a threshold is crossed on the population of questions a sample of per-question
/// values was drawn from: what a choice made on a few hundred answers weighs a gate near its
/// threshold by, instead of passing or breaching it on the sample's point estimate.
public enum ThresholdEvidence {
    /// P(population mean < floor): the estimate's distance to the floor in standard errors of the
    /// sample's mean. A sample of fewer than two values, or of no spread, gives 0 or 1.
    public static func meanBelow(_ floor: Double, estimate: Double, sample: [Double]) -> Double {
        let n = Double(sample.count)
        guard n > 1 else { return estimate < floor ? 1 : 0 }
        let mean = sample.reduce(0, +) / n
        let standardError = (sample.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1) / n).squareRoot()
        guard standardError > 0 else { return estimate < floor ? 1 : 0 }
        return NormalDistribution.cdf((floor - estimate) / standardError)
    }

    /// P(population q-quantile > ceiling): the share of the sample above the ceiling against
    /// 1 − q, in the standard error of a share of that size.
    public static func quantileAbove(_ ceiling: Double, quantile q: Double, sample: [Double]) -> Double {
        precondition(q > 0 && q < 1, "a quantile lies in (0, 1), got \(q)")
        guard !sample.isEmpty else { return 0 }
        let n = Double(sample.count)
        let above = Double(sample.filter { $0 > ceiling }.count) / n
        return NormalDistribution.cdf((above - (1 - q)) / (q * (1 - q) / n).squareRoot())
    }
}
