import PPO

extension PPOConfiguration {
    /// PPO for `RAGTuningEnvironment`. The tuner's specification fixes clip 0.2, GAE λ 0.95, a KL
    /// target in 0.01–0.05 with early stopping, 4–8 minibatches and 3–10 epochs. Its γ = 0.99
    /// and learning rate 1e-4 are for long-horizon production control; here a batch's reward does
    /// not depend on earlier choices (the configuration is re-chosen every batch), so γ = 0 gives
    /// the same optimum with far less variance, and 1e-3 (annealed) learns within the 5-minute
    /// budget. Both are overridable (`--set gamma=0.99`).
    public static var ragTuning: PPOConfiguration {
        var c = PPOConfiguration()
        c.environmentCount = 8
        c.stepsPerRollout = 64
        c.minibatchSize = 128  // 4 minibatches of the 512-step rollout
        c.epochs = 8
        c.gamma = 0
        c.gaeLambda = 0.95
        c.learningRate = 1e-3
        c.annealLearningRate = true
        c.clipRange = 0.2
        c.targetKL = 0.05
        c.entropyCoefficient = 0.01
        c.normalizeObservations = true
        return c
    }
}
