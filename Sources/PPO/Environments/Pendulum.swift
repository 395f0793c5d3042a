import Foundation
import NumericCore
import TunerPolicy

/// Pendulum-v1 with Gymnasium's dynamics, reward and time limit
/// (gymnasium/envs/classic_control/pendulum.py): g = 10.0, m = 1.0, l = 1.0, dt = 0.05,
/// torque clipped to ±2.0, angular speed clipped to ±8.0;
/// cost = angle_normalize(θ)² + 0.1·θ̇² + 0.001·u², reward = −cost (computed on the state before
/// the step); θ̇ ← clip(θ̇ + (3g/(2l)·sin θ + 3/(m l²)·u)·dt), θ ← θ + θ̇·dt; never terminates,
/// truncated at 200 steps; reset θ ~ U(−π, π), θ̇ ~ U(−1, 1). Observation [cos θ, sin θ, θ̇].
public struct Pendulum: Environment {
    static let maxSpeed = 8.0
    static let maxTorque = 2.0
    static let dt = 0.05
    static let g = 10.0
    static let m = 1.0
    static let l = 1.0
    public static let maxEpisodeSteps = 200

    public let observationSize = 3
    public let actionSpace = ActionSpace([.continuous("torque", -2.0...2.0)])

    private var theta = 0.0
    private var thetaDot = 0.0
    private var steps = 0
    private var rng: RandomGenerator

    public init(seed: UInt64) { rng = RandomGenerator(seed: seed) }

    private var observation: [Float] { [Float(cos(theta)), Float(sin(theta)), Float(thetaDot)] }

    public mutating func reset() -> [Float] {
        theta = rng.uniform(in: -Double.pi ..< Double.pi)
        thetaDot = rng.uniform(in: -1 ..< 1)
        steps = 0
        return observation
    }

    static func angleNormalize(_ x: Double) -> Double {
        let twoPi = 2 * Double.pi
        let y = (x + Double.pi).truncatingRemainder(dividingBy: twoPi)
        return (y < 0 ? y + twoPi : y) - Double.pi  // Python's % is a floored modulo
    }

    public mutating func step(_ action: [Double]) -> StepResult {
        let u = min(max(action[0], -Self.maxTorque), Self.maxTorque)
        let normalized = Self.angleNormalize(theta)
        let cost = normalized * normalized + 0.1 * thetaDot * thetaDot + 0.001 * u * u
        var newThetaDot = thetaDot + (3 * Self.g / (2 * Self.l) * sin(theta) + 3.0 / (Self.m * Self.l * Self.l) * u) * Self.dt
        newThetaDot = min(max(newThetaDot, -Self.maxSpeed), Self.maxSpeed)
        theta += newThetaDot * Self.dt
        thetaDot = newThetaDot
        steps += 1
        return StepResult(observation: observation, reward: -cost, terminated: false, truncated: steps >= Self.maxEpisodeSteps)
    }

    public var snapshot: EnvironmentSnapshot { EnvironmentSnapshot(values: [theta, thetaDot, Double(steps)], words: rng.stateWords) }

    public mutating func restore(_ snapshot: EnvironmentSnapshot) {
        theta = snapshot.values[0]
        thetaDot = snapshot.values[1]
        steps = Int(snapshot.values[2])
        rng = RandomGenerator(state: snapshot.words)
    }
}
