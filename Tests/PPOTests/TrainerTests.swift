import Foundation
import Testing
import NumericCore
import TunerPolicy
@testable import PPO

@Suite struct TrainerTests {
    func cartPoleTrainer(seed: UInt64, totalSteps: Int) throws -> PPOTrainer<CartPole> {
        var configuration = PPOConfiguration.preset(.rlZoo, task: .cartpole)
        configuration.totalSteps = totalSteps
        configuration.seed = seed
        return try PPOTrainer(configuration: configuration) { CartPole(seed: seed &* 1_000_003 &+ UInt64($0)) }
    }

    @Test func shortCartPoleRunReachesTwoHundred() throws {
        let trainer = try cartPoleTrainer(seed: 1, totalSteps: 40_960)
        try trainer.train()
        let returns = trainer.evaluate(episodes: 5)
        let mean = returns.reduce(0, +) / 5
        #expect(mean >= 200, "mean evaluation return \(mean)")
        let last = try #require(trainer.history.last)
        #expect(last.approximateKL.isFinite && last.clipFraction >= 0 && last.explainedVariance.isFinite)
    }

    @Test func sameSeedSameTrainingCurve() throws {
        let a = try cartPoleTrainer(seed: 3, totalSteps: 2560)
        let b = try cartPoleTrainer(seed: 3, totalSteps: 2560)
        try a.train()
        try b.train()
        let strip = { (m: UpdateMetrics) -> UpdateMetrics in var m = m; m.stepsPerSecond = 0; return m }
        #expect(a.history.map(strip) == b.history.map(strip))
        #expect(a.network.arena.valueArray == b.network.arena.valueArray)
        let c = try cartPoleTrainer(seed: 4, totalSteps: 2560)
        try c.train()
        #expect(c.network.arena.valueArray != a.network.arena.valueArray)
    }

    @Test(arguments: [BenchmarkTask.cartpole, .mixed])
    func resumedRunContinuesAsIfNeverStopped(task: BenchmarkTask) throws {
        var configuration = PPOConfiguration.preset(.default, task: task)
        configuration.stepsPerRollout = 16
        configuration.totalSteps = configuration.transitionsPerRollout * 4
        configuration.minibatchSize = 64
        configuration.epochs = 2
        configuration.targetKL = 0.05
        configuration.klAdaptiveLearningRate = true
        configuration.normalizeObservations = true
        configuration.scaleRewards = true
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("resume-\(UUID().uuidString).ckpt")
        defer { try? FileManager.default.removeItem(at: url) }

        func check<E: Environment>(_ make: @escaping (Int) -> E) throws {
            let straight = try PPOTrainer(configuration: configuration, makeEnvironment: make)
            try straight.train()
            let first = try PPOTrainer(configuration: configuration, makeEnvironment: make)
            try first.runUpdate()
            try first.runUpdate()
            try first.saveCheckpoint(to: url)
            let resumed = try PPOTrainer<E>.resume(from: url, makeEnvironment: make)
            #expect(resumed.update == 2 && resumed.globalStep == first.globalStep)
            try resumed.train()
            #expect(resumed.network.arena.valueArray == straight.network.arena.valueArray)
            #expect(resumed.normalizer == straight.normalizer)
            #expect(resumed.learningRate == straight.learningRate)
            #expect(resumed.history.last?.policyLoss == straight.history.last?.policyLoss)

            // A checkpoint written before `initialLogStdByHead` existed resumes alike.
            var archive = try TensorArchive.read(from: url, expecting: PPOTrainer<E>.checkpointKind, version: PPOTrainer<E>.checkpointVersion)
            var metadata = try #require(try JSONSerialization.jsonObject(with: archive.metadata) as? [String: Any])
            var stored = try #require(metadata["configuration"] as? [String: Any])
            stored["initialLogStdByHead"] = nil
            metadata["configuration"] = stored
            archive.metadata = try JSONSerialization.data(withJSONObject: metadata)
            let older = url.appendingPathExtension("older")
            defer { try? FileManager.default.removeItem(at: older) }
            try archive.write(to: older)
            let resumedOlder = try PPOTrainer<E>.resume(from: older, makeEnvironment: make)
            try resumedOlder.train()
            #expect(resumedOlder.network.arena.valueArray == straight.network.arena.valueArray)
            #expect(resumedOlder.learningRate == straight.learningRate)
        }
        switch task {
        case .cartpole: try check { CartPole(seed: 90 + UInt64($0)) }
        case .mixed: try check { MixedTargetTask(seed: 90 + UInt64($0), maskedColour: true) }
        case .pendulum: try check { Pendulum(seed: 90 + UInt64($0)) }
        }
    }

    @Test func resumingWithAnotherEnvironmentIsRefused() throws {
        let trainer = try cartPoleTrainer(seed: 1, totalSteps: 512)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("other-\(UUID().uuidString).ckpt")
        defer { try? FileManager.default.removeItem(at: url) }
        try trainer.saveCheckpoint(to: url)
        #expect(throws: PPOError.self) { _ = try PPOTrainer<Pendulum>.resume(from: url) { Pendulum(seed: UInt64($0)) } }
    }

    @Test func invalidConfigurationNamesTheField() throws {
        var configuration = PPOConfiguration()
        configuration.minibatchSize = 0
        #expect(throws: PPOError.invalidConfiguration(field: "minibatchSize", allowed: "1...environmentCount × stepsPerRollout")) {
            try configuration.validate()
        }
        #expect(try PPOConfiguration().applying(overrides: ["epochs=7", "targetKL=0.02"]).epochs == 7)
        #expect(throws: PPOError.self) { try PPOConfiguration().applying(overrides: ["epoch=7"]) }
        #expect(throws: PPOError.self) { try PPOConfiguration().applying(overrides: ["epochs=\"many\""]) }
        // Values that pass as numbers but send Adam to NaN within an update (they once crashed training).
        for (override, field, allowed) in [("learningRate=1e30", "learningRate", "(0, 1]"), ("adamEpsilon=0", "adamEpsilon", "[1e-12, 1]"),
                                           ("entropyCoefficient=-1", "entropyCoefficient", "[0, 100]"),
                                           ("hiddenSizes=[100000]", "hiddenSizes", "1 to 8 widths in 1...4096")] {
            #expect(throws: PPOError.invalidConfiguration(field: field, allowed: allowed)) { try PPOConfiguration().applying(overrides: [override]) }
        }
    }

    /// `field.head=value` changes one head's entry of a by-head dictionary and keeps the others;
    /// `field={…}` replaces the dictionary; a dotted name on a field that is no dictionary is
    /// refused, naming the fields that are.
    @Test func oneHeadsEntryCanBeOverriddenAlone() throws {
        var preset = PPOConfiguration()
        preset.entropyCoefficientByHead = ["k": 0]
        preset.initialLogStdByHead = ["fusion_weight": -1.6]
        preset.finalLogStdByHead = ["fusion_weight": -3]
        let one = try preset.applying(overrides: ["entropyCoefficientByHead.template=0.05", "initialLogStdByHead.k=-1"])
        #expect(one.entropyCoefficientByHead == ["k": 0, "template": 0.05])
        #expect(one.initialLogStdByHead == ["fusion_weight": -1.6, "k": -1])
        #expect(one.finalLogStdByHead == ["fusion_weight": -3])
        #expect(try preset.applying(overrides: ["entropyCoefficientByHead.k=0.01"]).entropyCoefficientByHead == ["k": 0.01])
        #expect(try preset.applying(overrides: [#"entropyCoefficientByHead={"template":0.05}"#]).entropyCoefficientByHead == ["template": 0.05])
        #expect(throws: PPOError.invalidConfiguration(
            field: "epochs.k", allowed: "field.head for one of entropyCoefficientByHead, finalLogStdByHead, initialLogStdByHead")) {
            try preset.applying(overrides: ["epochs.k=3"])
        }
    }

    /// A head's learned width starts where the configuration says, by head name; a name that is
    /// no head with a learned width, or a value past the log-std clamp, is refused by name.
    @Test func eachHeadStartsAtItsConfiguredWidth() throws {
        var configuration = PPOConfiguration()
        configuration.environmentCount = 2
        configuration.stepsPerRollout = 16
        configuration.minibatchSize = 16
        configuration.totalSteps = 32
        #expect(try PPOTrainer(configuration: configuration) { MixedTargetTask(seed: UInt64($0)) }.network.logStd![0] == 0)
        configuration = try configuration.applying(overrides: [#"initialLogStdByHead={"dial":-1.5}"#])
        #expect(try PPOTrainer(configuration: configuration) { MixedTargetTask(seed: UInt64($0)) }.network.logStd![0] == -1.5)

        configuration.initialLogStdByHead = ["level": -1]
        #expect(throws: PPOError.invalidConfiguration(field: "initialLogStdByHead[level]", allowed: "a head with a learned width: dial")) {
            _ = try PPOTrainer(configuration: configuration) { MixedTargetTask(seed: UInt64($0)) }
        }
        configuration.initialLogStdByHead = ["dial": -6]
        #expect(throws: PPOError.invalidConfiguration(field: "initialLogStdByHead[dial]", allowed: "in [-5, 2] (the log-std clamp)")) {
            try configuration.validate()
        }
    }

    /// An annealed head's width is capped by a ceiling falling linearly from its initial
    /// log-std to its final one: the run ends that narrow, where the learned width alone stays
    /// wide; a name that is no head with a learned width is refused by name.
    @Test func anAnnealedHeadEndsAtItsFinalWidth() throws {
        var configuration = PPOConfiguration.preset(.default, task: .mixed)
        configuration.stepsPerRollout = 32
        configuration.totalSteps = configuration.transitionsPerRollout * 9
        configuration.initialLogStdByHead = ["dial": -0.5]
        configuration.finalLogStdByHead = ["dial": -2.5]
        #expect(configuration.logStdCeiling(forHead: "dial", update: 0) == -0.5)
        #expect(configuration.logStdCeiling(forHead: "dial", update: 4) == -1.5)
        #expect(configuration.logStdCeiling(forHead: "dial", update: 8) == -2.5)
        #expect(configuration.logStdCeiling(forHead: "colour", update: 8) == nil)

        func finalLogStd(_ configuration: PPOConfiguration) throws -> Float {
            let trainer = try PPOTrainer(configuration: configuration) { MixedTargetTask(seed: 40 + UInt64($0)) }
            try trainer.train()
            return trainer.network.logStd![0]
        }
        let annealed = try finalLogStd(configuration)
        #expect(abs(annealed - -2.5) < 0.05, "annealed log-std \(annealed)")
        configuration.finalLogStdByHead = [:]
        let learned = try finalLogStd(configuration)
        #expect(learned > -1, "learned log-std \(learned)")

        configuration.finalLogStdByHead = ["level": -2]
        #expect(throws: PPOError.invalidConfiguration(field: "finalLogStdByHead[level]", allowed: "a head with a learned width: dial")) {
            _ = try PPOTrainer(configuration: configuration) { MixedTargetTask(seed: UInt64($0)) }
        }
        configuration.finalLogStdByHead = ["dial": 3]
        #expect(throws: PPOError.invalidConfiguration(field: "finalLogStdByHead[dial]", allowed: "in [-5, 2] (the log-std clamp)")) {
            try configuration.validate()
        }
    }

    @Test func trainedPolicyRoundTripsThroughItsCheckpoint() throws {
        let trainer = try cartPoleTrainer(seed: 2, totalSteps: 1024)
        try trainer.train()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("policy-\(UUID().uuidString).ckpt")
        defer { try? FileManager.default.removeItem(at: url) }
        try trainer.checkpoint.write(to: url)
        let loaded = Policy(checkpoint: try PolicyCheckpoint.read(from: url))
        let original = Policy(checkpoint: trainer.checkpoint)
        var rng = RandomGenerator(seed: 5)
        for _ in 0..<50 {
            let observation = (0..<4).map { _ in Float(rng.normal()) * 0.1 }
            #expect(loaded.deterministicAction(observation) == original.deterministicAction(observation))
        }
    }
}

@Suite struct EnvironmentTests {
    @Test func cartPoleStepMatchesHandComputedEuler() {
        var env = CartPole(seed: 0)
        env.restore(EnvironmentSnapshot(values: [0, 0, 0, 0, 0], words: [1, 2, 3, 4]))
        let result = env.step([1])
        // temp = 10/1.1; θ̈ = −temp/(0.5·(4/3 − 0.1/1.1)); ẍ = temp − 0.05·θ̈/1.1; Euler with τ = 0.02.
        let temp = 10 / 1.1
        let thetaAcc = -temp / (0.5 * (4.0 / 3 - 0.1 / 1.1))
        let xAcc = temp - 0.05 * thetaAcc / 1.1
        #expect(result.observation == [0, Float(0.02 * xAcc), 0, Float(0.02 * thetaAcc)])
        #expect(result.reward == 1 && !result.terminated && !result.truncated)
    }

    @Test func cartPoleTerminatesPastTwelveDegreesAndTruncatesAtFiveHundred() {
        var env = CartPole(seed: 0)
        // Euler moves θ by the old θ̇: from θ = 0.2 it stays below 12° ≈ 0.2094; from 0.21 it is past.
        env.restore(EnvironmentSnapshot(values: [0, 0, 0.2, 0, 0], words: [1, 2, 3, 4]))
        #expect(!env.step([0]).terminated)
        env.restore(EnvironmentSnapshot(values: [0, 0, 0.21, 0, 0], words: [1, 2, 3, 4]))
        #expect(env.step([0]).terminated)
        var upright = CartPole(seed: 0)
        upright.restore(EnvironmentSnapshot(values: [0, 0, 0, 0, 499], words: [1, 2, 3, 4]))
        let last = upright.step([1])
        #expect(last.truncated && !last.terminated)
    }

    @Test func pendulumStepMatchesGymnasium() {
        var env = Pendulum(seed: 0)
        env.restore(EnvironmentSnapshot(values: [0, 0, 0], words: [1, 2, 3, 4]))
        let result = env.step([5])  // torque clipped to 2
        // cost = 0 + 0 + 0.001·2²; θ̇ = (3·10/2·sin 0 + 3·2)·0.05 = 0.3; θ = 0.015.
        #expect(abs(result.reward + 0.004) < 1e-12)
        #expect(result.observation == [Float(cos(0.015)), Float(sin(0.015)), 0.3])
        #expect(abs(Pendulum.angleNormalize(3 * Double.pi) - Double.pi) < 1e-12 || abs(Pendulum.angleNormalize(3 * Double.pi) + Double.pi) < 1e-12)
        #expect(abs(Pendulum.angleNormalize(-0.5) + 0.5) < 1e-12)
    }

    @Test func mixedTaskOptimumScoresOne() {
        let context = [-0.5, 0.37, 0.2, -0.6]
        let target = MixedTargetTask.target(context)
        #expect(target == [0, 6, 1, 0.2])
        #expect(abs(MixedTargetTask.reward(action: target, context: context) - 1) < 1e-12)
        #expect(abs(MixedTargetTask.reward(action: [1, 7, 0, 0.3], context: context) - (0 + 2.0 / 3 + 0 + 0.6) / 4) < 1e-9)
    }
}
