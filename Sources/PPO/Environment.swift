import NumericCore
import TunerPolicy

/// What an environment returns from a step.
public struct StepResult: Sendable {
    public var observation: [Float]
    public var reward: Double
    /// The episode reached a terminal state: no future reward follows.
    public var terminated: Bool
    /// The episode was cut by a time limit: the state still has a value to bootstrap from.
    public var truncated: Bool

    public init(observation: [Float], reward: Double, terminated: Bool, truncated: Bool) {
        self.observation = observation
        self.reward = reward
        self.terminated = terminated
        self.truncated = truncated
    }
}

/// Everything needed to put an environment back exactly where it was (for resumable training).
public struct EnvironmentSnapshot: Sendable, Equatable, Codable {
    public var values: [Double]
    public var words: [UInt64]

    public init(values: [Double], words: [UInt64]) {
        self.values = values
        self.words = words
    }
}

/// A Gymnasium-style environment: reset, then step with one value per action head (the choice
/// index, the integer, 0/1, or the real clipped into bounds) until terminated or truncated.
/// Each environment owns its random generator, seeded once at creation, so a vector of them
/// replays identically from one seed.
public protocol Environment {
    var observationSize: Int { get }
    var actionSpace: ActionSpace { get }
    mutating func reset() -> [Float]
    mutating func step(_ action: [Double]) -> StepResult
    /// Allowed entries of the categorical and discrete heads in the current state (1 allowed,
    /// 0 not), `actionSpace.maskWidth` values; nil when every action is allowed.
    var actionMask: [Float]? { get }
    var snapshot: EnvironmentSnapshot { get }
    mutating func restore(_ snapshot: EnvironmentSnapshot)
    /// How the environment turns a service's signals into observations, where a deployed policy
    /// must do the same (kept in the policy checkpoint); nil for the control tasks.
    var contextFeatures: ContextFeatures? { get }
}

extension Environment {
    public var actionMask: [Float]? { nil }
    public var contextFeatures: ContextFeatures? { nil }
}
