import Foundation
import NumericCore
import Testing
import TunerPolicy
@testable import PPO

@Suite struct GAETests {
    @Test func handWorkedExampleWithAnEpisodeBoundary() {
        // One environment, three steps, γ = 0.9, λ = 0.8; the episode ends at t = 1 (its reward
        // of 2 already holds any truncation bootstrap), V after the rollout = 2.
        //   t=2: δ = 3 + 0.9·2 − 1.5 = 3.3;            A = 3.3
        //   t=1: δ = 2 − 1.0 = 1.0 (done: no next V); A = 1.0 (no carry across the boundary)
        //   t=0: δ = 1 + 0.9·1.0 − 0.5 = 1.4;          A = 1.4 + 0.72·1.0 = 2.12
        let (advantages, returns) = GAE.compute(rewards: [1, 2, 3], values: [0.5, 1.0, 1.5], dones: [0, 1, 0],
                                                lastValues: [2], environmentCount: 1, gamma: 0.9, lambda: 0.8)
        let expected: [Float] = [2.12, 1.0, 3.3]
        for i in 0..<3 {
            #expect(abs(advantages[i] - expected[i]) < 1e-6)
            #expect(abs(returns[i] - (expected[i] + [0.5, 1.0, 1.5][i])) < 1e-6)
        }
    }

    @Test func environmentsAreIndependentInTheInterleavedLayout() {
        // Two environments interleaved (row t·2 + e); each must equal its own one-env computation.
        let r: [Float] = [1, 0, 0, 1, 2, 0], v: [Float] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], d: [Float] = [0, 0, 1, 0, 0, 1]
        let both = GAE.compute(rewards: r, values: v, dones: d, lastValues: [1, 2], environmentCount: 2, gamma: 0.99, lambda: 0.95)
        for e in 0..<2 {
            let pick = { (x: [Float]) in [x[e], x[2 + e], x[4 + e]] }
            let single = GAE.compute(rewards: pick(r), values: pick(v), dones: pick(d), lastValues: [[1, 2][e]],
                                     environmentCount: 1, gamma: 0.99, lambda: 0.95)
            #expect(single.advantages == pick(both.advantages))
        }
    }

    /// Truncated after one step with reward 0 and a distinct final observation.
    struct OneStepTask: Environment {
        let observationSize = 1
        let actionSpace = ActionSpace([.bernoulli("any")])
        let terminates: Bool
        mutating func reset() -> [Float] { [0] }
        mutating func step(_ action: [Double]) -> StepResult {
            StepResult(observation: [3], reward: 0, terminated: terminates, truncated: !terminates)
        }
        var snapshot: EnvironmentSnapshot { EnvironmentSnapshot(values: [], words: []) }
        mutating func restore(_ snapshot: EnvironmentSnapshot) {}
    }

    @Test func truncationBootstrapsFromTheFinalStateAndTerminationDoesNot() throws {
        var configuration = PPOConfiguration()
        configuration.environmentCount = 1
        configuration.stepsPerRollout = 2
        configuration.totalSteps = 2
        configuration.minibatchSize = 2
        configuration.normalizeObservations = false
        configuration.gamma = 0.9
        let truncating = try PPOTrainer(configuration: configuration) { _ in OneStepTask(terminates: false) }
        _ = try truncating.collectRollout()
        let finalValue = truncating.value(ofRaw: [3])
        #expect(finalValue != 0)
        #expect(abs(truncating.rollout.rewards[0] - 0.9 * finalValue) < 1e-6)
        #expect(truncating.rollout.dones == [1, 1])
        let terminating = try PPOTrainer(configuration: configuration) { _ in OneStepTask(terminates: true) }
        _ = try terminating.collectRollout()
        #expect(terminating.rollout.rewards == [0, 0])
    }
}
