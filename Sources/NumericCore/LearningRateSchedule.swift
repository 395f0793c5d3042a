/// How the learning rate (or any annealed coefficient) moves over training.
public enum LearningRateSchedule: Sendable, Hashable, Codable {
    /// The same rate throughout.
    case constant(Float)
    /// From `initial` at the first update to `final` after the last, linearly: CleanRL's
    /// `frac = 1 − (update − 1)/num_updates` annealing when `final` is 0.
    case linear(initial: Float, final: Float)

    /// The rate for update `update` (0-based) of `totalUpdates`.
    public func value(update: Int, of totalUpdates: Int) -> Float {
        switch self {
        case let .constant(rate):
            return rate
        case let .linear(initial, final):
            guard totalUpdates > 0 else { return initial }
            let fraction = Float(min(max(update, 0), totalUpdates)) / Float(totalUpdates)
            return initial + (final - initial) * fraction
        }
    }

    public var initialValue: Float {
        switch self {
        case let .constant(rate): rate
        case let .linear(initial, _): initial
        }
    }
}
