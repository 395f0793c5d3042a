import Foundation
import NumericCore
import TunerPolicy

/// CartPole-v1 with Gymnasium's dynamics, reward, termination and time limit
/// (gymnasium/envs/classic_control/cartpole.py; Barto, Sutton & Anderson 1983):
/// gravity 9.8, cart mass 1.0, pole mass 0.1, half-pole length 0.5, force 10.0, τ = 0.02 s with
/// explicit Euler integration; terminated when |x| > 2.4 or |θ| > 12° (12·2π/360 rad);
/// reward +1 every step including the last; truncated at 500 steps (`max_episode_steps`);
/// reset draws every state variable from U(−0.05, 0.05). Observation [x, ẋ, θ, θ̇].
public struct CartPole: Environment {
    static let gravity = 9.8
    static let cartMass = 1.0
    static let poleMass = 0.1
    static let totalMass = cartMass + poleMass
    static let halfLength = 0.5
    static let poleMassLength = poleMass * halfLength
    static let forceMagnitude = 10.0
    static let tau = 0.02
    static let thetaThreshold = 12 * 2 * Double.pi / 360
    static let xThreshold = 2.4
    public static let maxEpisodeSteps = 500

    public let observationSize = 4
    public let actionSpace = ActionSpace([.categorical("push", choices: ["left", "right"])])

    private var state = [0.0, 0, 0, 0]
    private var steps = 0
    private var rng: RandomGenerator

    public init(seed: UInt64) { rng = RandomGenerator(seed: seed) }

    private var observation: [Float] { state.map(Float.init) }

    public mutating func reset() -> [Float] {
        state = (0..<4).map { _ in rng.uniform(in: -0.05 ..< 0.05) }
        steps = 0
        return observation
    }

    public mutating func step(_ action: [Double]) -> StepResult {
        var (x, xDot, theta, thetaDot) = (state[0], state[1], state[2], state[3])
        let force = action[0] == 1 ? Self.forceMagnitude : -Self.forceMagnitude
        let cosTheta = cos(theta), sinTheta = sin(theta)
        let temp = (force + Self.poleMassLength * thetaDot * thetaDot * sinTheta) / Self.totalMass
        let thetaAcc = (Self.gravity * sinTheta - cosTheta * temp)
            / (Self.halfLength * (4.0 / 3.0 - Self.poleMass * cosTheta * cosTheta / Self.totalMass))
        let xAcc = temp - Self.poleMassLength * thetaAcc * cosTheta / Self.totalMass
        x += Self.tau * xDot
        xDot += Self.tau * xAcc
        theta += Self.tau * thetaDot
        thetaDot += Self.tau * thetaAcc
        state = [x, xDot, theta, thetaDot]
        steps += 1
        let terminated = x < -Self.xThreshold || x > Self.xThreshold || theta < -Self.thetaThreshold || theta > Self.thetaThreshold
        return StepResult(observation: observation, reward: 1, terminated: terminated,
                          truncated: !terminated && steps >= Self.maxEpisodeSteps)
    }

    public var snapshot: EnvironmentSnapshot { EnvironmentSnapshot(values: state + [Double(steps)], words: rng.stateWords) }

    public mutating func restore(_ snapshot: EnvironmentSnapshot) {
        state = Array(snapshot.values.prefix(4))
        steps = Int(snapshot.values[4])
        rng = RandomGenerator(state: snapshot.words)
    }
}
