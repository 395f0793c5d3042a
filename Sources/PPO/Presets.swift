/// The benchmark tasks and their hyperparameter presets.
public enum BenchmarkTask: String, Sendable, CaseIterable, Codable {
    case cartpole, pendulum, mixed
}

public enum Preset: String, Sendable, CaseIterable, Codable {
    /// Our tuned settings.
    case `default`
    /// RL-Baselines3-Zoo's `hyperparams/ppo.yml` for the task, for like-for-like comparison with
    /// Stable-Baselines3 (without gSDE, which this trainer does not implement).
    case rlZoo = "rl-zoo"
}

extension PPOConfiguration {
    public static func preset(_ preset: Preset, task: BenchmarkTask) -> PPOConfiguration {
        var c = PPOConfiguration()
        switch (task, preset) {
        case (.cartpole, _):
            // RL-Zoo CartPole-v1: n_envs 8, n_steps 32, batch 256, 20 epochs, γ 0.98, λ 0.8,
            // lr lin_1e-3, clip lin_0.2, ent_coef 0, no normalisation.
            c.environmentCount = 8
            c.stepsPerRollout = 32
            c.minibatchSize = 256
            c.epochs = 20
            c.gamma = 0.98
            c.gaeLambda = 0.8
            c.learningRate = 1e-3
            c.annealLearningRate = true
            c.clipRange = 0.2
            c.annealClipRange = true
            c.entropyCoefficient = 0
            c.normalizeObservations = false
        case (.pendulum, .rlZoo):
            // RL-Zoo Pendulum-v1: n_envs 4, n_steps 1024, batch 64, 10 epochs, γ 0.9, λ 0.95,
            // lr 1e-3 (constant), clip 0.2, ent_coef 0 (gSDE left out).
            c.environmentCount = 4
            c.stepsPerRollout = 1024
            c.minibatchSize = 64
            c.epochs = 10
            c.gamma = 0.9
            c.gaeLambda = 0.95
            c.learningRate = 1e-3
            c.annealLearningRate = false
            c.clipRange = 0.2
            c.normalizeObservations = false
        case (.pendulum, .default):
            // RL-Zoo's γ, λ and learning rate with shorter rollouts, 20 epochs and linear
            // annealing: chosen by a sweep over seeds 1–5 (docs/benchmarks.md).
            c.environmentCount = 4
            c.stepsPerRollout = 512
            c.minibatchSize = 64
            c.epochs = 20
            c.gamma = 0.9
            c.gaeLambda = 0.95
            c.learningRate = 1e-3
            c.annealLearningRate = true
            c.clipRange = 0.2
            c.normalizeObservations = false
        case (.mixed, _):
            c.environmentCount = 8
            c.stepsPerRollout = 64
            c.minibatchSize = 128
            c.epochs = 10
            c.gamma = 0.0  // each step's context is fresh and independent of the action
            c.gaeLambda = 0.95
            c.learningRate = 1e-3
            c.annealLearningRate = true
            c.entropyCoefficient = 0.0
            c.normalizeObservations = false
        }
        return c
    }
}
