import Foundation

/// One seed of `tuner bench ppo`.
public struct SeedResult: Sendable, Codable {
    public var seed: UInt64
    /// Mean return over the evaluation episodes with the deterministic policy.
    public var finalReturn: Double
    /// Environment steps per second of the whole training (rollouts and updates).
    public var stepsPerSecond: Double
    public var wallSeconds: Double
}

public enum PPOBenchmark {
    /// Trains one seed on `task` and evaluates the deterministic policy. Environment i is
    /// seeded from (seed, i), evaluation environments from indices past the training ones.
    public static func run(task: BenchmarkTask, configuration: PPOConfiguration, evaluationEpisodes: Int) throws -> SeedResult {
        let seed = configuration.seed
        func environmentSeed(_ i: Int) -> UInt64 { seed &* 1_000_003 &+ UInt64(i) }
        switch task {
        case .cartpole:
            return try run(PPOTrainer(configuration: configuration) { CartPole(seed: environmentSeed($0)) }, evaluationEpisodes)
        case .pendulum:
            return try run(PPOTrainer(configuration: configuration) { Pendulum(seed: environmentSeed($0)) }, evaluationEpisodes)
        case .mixed:
            return try run(PPOTrainer(configuration: configuration) { MixedTargetTask(seed: environmentSeed($0)) }, evaluationEpisodes)
        }
    }

    static func run<E: Environment>(_ trainer: PPOTrainer<E>, _ episodes: Int) throws -> SeedResult {
        let start = DispatchTime.now().uptimeNanoseconds
        try trainer.train()
        let wall = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        let returns = trainer.evaluate(episodes: episodes)
        return SeedResult(seed: trainer.configuration.seed, finalReturn: returns.reduce(0, +) / Double(returns.count),
                          stepsPerSecond: Double(trainer.globalStep) / wall, wallSeconds: wall)
    }
}
