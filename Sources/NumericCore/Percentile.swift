/// Percentiles by linear interpolation between order statistics (NumPy's default, "type 7").
public enum Percentile {
    public static func of(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return .nan }
        return sorted(values.sorted(), p)
    }

    /// `p` ∈ [0, 100] of already sorted values.
    public static func sorted(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return .nan }
        let position = p / 100 * Double(values.count - 1)
        let lower = Int(position.rounded(.down))
        let upper = min(lower + 1, values.count - 1)
        let fraction = position - Double(lower)
        return values[lower] + (values[upper] - values[lower]) * fraction
    }
}
