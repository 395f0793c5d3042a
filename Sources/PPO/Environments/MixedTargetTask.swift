import Foundation
import NumericCore
import TunerPolicy

/// A task whose best action needs every kind of head at once, with a known optimum.
///
/// Each step shows a fresh context o ∈ U(−1, 1)⁴ and asks for a colour (categorical, 3
/// choices), a level (integer 0...9), a switch (Bernoulli) and a dial (continuous in [0, 1]).
/// The targets follow the context: colour = which third of [−1, 1] o₀ falls in, level =
/// ⌊5(o₁ + 1)⌋ capped at 9, switch = [o₂ > 0], dial = (o₃ + 1)/2. The reward is the mean of four
/// scores in [0, 1]: colour and switch 1 when right, level max(0, 1 − |k − k*|/3), dial
/// max(0, 1 − |w − w*|/0.25). The optimum is 1 per step, so a policy's mean reward per step is
/// directly its fraction of the optimal expected reward. Episodes are truncated after 16 steps.
/// With `maskedColour`, the colour 2 is forbidden whenever o₀ < 0 (it is never the target then),
/// which exercises action masks.
public struct MixedTargetTask: Environment {
    public static let episodeSteps = 16
    public let observationSize = 4
    public let actionSpace = ActionSpace([
        .categorical("colour", choices: ["red", "green", "blue"]),
        .discrete("level", 0...9),
        .bernoulli("switch"),
        .continuous("dial", 0.0...1.0),
    ])
    public let maskedColour: Bool

    private var context: [Double] = [0, 0, 0, 0]
    private var steps = 0
    private var rng: RandomGenerator

    public init(seed: UInt64, maskedColour: Bool = false) {
        rng = RandomGenerator(seed: seed)
        self.maskedColour = maskedColour
    }

    private mutating func draw() -> [Float] {
        context = (0..<4).map { _ in rng.uniform(in: -1 ..< 1) }
        return context.map(Float.init)
    }

    public mutating func reset() -> [Float] {
        steps = 0
        return draw()
    }

    /// The optimal action's environment values for a context.
    public static func target(_ o: [Double]) -> [Double] {
        let colour = o[0] < -1.0 / 3 ? 0.0 : (o[0] < 1.0 / 3 ? 1 : 2)
        return [colour, min(floor(5 * (o[1] + 1)), 9), o[2] > 0 ? 1 : 0, (o[3] + 1) / 2]
    }

    public static func reward(action: [Double], context: [Double]) -> Double {
        let t = target(context)
        let colour = action[0] == t[0] ? 1.0 : 0
        let level = max(0, 1 - abs(action[1] - t[1]) / 3)
        let switchScore = action[2] == t[2] ? 1.0 : 0
        let dial = max(0, 1 - abs(action[3] - t[3]) / 0.25)
        return (colour + level + switchScore + dial) / 4
    }

    public mutating func step(_ action: [Double]) -> StepResult {
        let reward = Self.reward(action: action, context: context)
        steps += 1
        let observation = draw()
        return StepResult(observation: observation, reward: reward, terminated: false, truncated: steps >= Self.episodeSteps)
    }

    public var actionMask: [Float]? {
        guard maskedColour else { return nil }
        return [1, 1, context[0] < 0 ? 0 : 1] + [Float](repeating: 1, count: 10)
    }

    public var snapshot: EnvironmentSnapshot { EnvironmentSnapshot(values: context + [Double(steps)], words: rng.stateWords) }

    public mutating func restore(_ snapshot: EnvironmentSnapshot) {
        context = Array(snapshot.values.prefix(4))
        steps = Int(snapshot.values[4])
        rng = RandomGenerator(state: snapshot.words)
    }
}
