import Foundation
import NumericCore
import TunerPolicy

/// Proximal policy optimisation (Schulman et al., 2017) with the implementation details of
/// CleanRL and Stable-Baselines3, over N environments stepped in one process.
///
/// One update, in the paper's order: collect T steps from every environment (`collectRollout`),
/// compute GAE advantages and returns (`GAE.compute`), then K epochs of shuffled minibatches
/// of the clipped surrogate objective (`optimize`). Legend: N environments, T steps, B = N·T
/// transitions, M minibatch rows, O observation size, W actor output width, H heads.
public final class PPOTrainer<E: Environment> {
    public let configuration: PPOConfiguration
    public let network: PolicyNetwork
    public internal(set) var normalizer: RunningNormalizer
    public internal(set) var update = 0
    public internal(set) var globalStep = 0
    public internal(set) var learningRate: Float
    public private(set) var history: [UpdateMetrics] = []

    var adam: AdamOptimizer
    var rng: RandomGenerator
    public internal(set) var environments: [E]
    /// Current raw observations, N × O.
    var observations: Matrix
    var episodeReturns: [Double]
    /// Running discounted return per environment and its variance, for reward scaling.
    var discountedReturns: [Double]
    var returnNormalizer = RunningNormalizer(size: 1)

    var rollout: Rollout

    let space: ActionSpace
    let makeEnvironment: (Int) -> E

    /// Builds the trainer; `makeEnvironment(i)` returns environment i, seeded by the caller
    /// (the evaluation environments use indices past the training ones).
    public init(configuration: PPOConfiguration, makeEnvironment: @escaping (Int) -> E) throws {
        try configuration.validate()
        BLAS.setThreads(1)  // small matrices, and bit-identical runs from one seed
        self.configuration = configuration
        self.makeEnvironment = makeEnvironment
        environments = (0..<configuration.environmentCount).map(makeEnvironment)
        let first = environments[0]
        space = first.actionSpace
        let widths = space.heads.filter(\.hasLogStd).map(\.name)
        for (field, byHead) in [("initialLogStdByHead", configuration.initialLogStdByHead), ("finalLogStdByHead", configuration.finalLogStdByHead)] {
            if let unknown = byHead.keys.sorted().first(where: { !widths.contains($0) }) {
                throw PPOError.invalidConfiguration(
                    field: "\(field)[\(unknown)]",
                    allowed: widths.isEmpty ? "empty: no head has a learned width" : "a head with a learned width: \(widths.joined(separator: ", "))")
            }
        }
        network = PolicyNetwork(architecture: PolicyArchitecture(
            observationSize: first.observationSize, actionSpace: space, hiddenSizes: configuration.hiddenSizes))
        rng = RandomGenerator(seed: configuration.seed)
        var initRNG = rng.split()
        try network.initialize(using: &initRNG, initialLogStd: configuration.initialLogStdByHead)
        adam = AdamOptimizer(parameterCount: network.arena.count, epsilon: configuration.adamEpsilon)
        normalizer = RunningNormalizer(size: first.observationSize)
        learningRate = configuration.learningRate
        let n = configuration.environmentCount, b = configuration.transitionsPerRollout
        observations = Matrix(rows: n, cols: first.observationSize)
        for e in 0..<n {
            let o = environments[e].reset()
            for c in 0..<o.count { observations[e, c] = o[c] }
        }
        episodeReturns = [Double](repeating: 0, count: n)
        discountedReturns = [Double](repeating: 0, count: n)
        rollout = Rollout(transitions: b, observationSize: first.observationSize, actionCount: space.count,
                          maskWidth: first.actionMask == nil ? nil : space.maskWidth)
    }

    public var isFinished: Bool { update >= configuration.updateCount }

    /// Runs updates until the configured step budget is spent or `onUpdate` returns false.
    public func train(onUpdate: (UpdateMetrics) -> Bool = { _ in true }) throws {
        while !isFinished {
            let metrics = try runUpdate()
            if !onUpdate(metrics) { return }
        }
    }

    /// One PPO update: rollout, GAE, K epochs of minibatch steps.
    @discardableResult
    public func runUpdate() throws -> UpdateMetrics {
        let start = DispatchTime.now().uptimeNanoseconds
        let total = configuration.updateCount
        if configuration.annealLearningRate && !configuration.klAdaptiveLearningRate {
            learningRate = LearningRateSchedule.linear(initial: configuration.learningRate, final: 0).value(update: update, of: total)
        }
        let clipRange = configuration.annealClipRange
            ? LearningRateSchedule.linear(initial: configuration.clipRange, final: 0).value(update: update, of: total)
            : configuration.clipRange
        capLogStds()
        let lastValues = try collectRollout()
        let (advantages, returns) = GAE.compute(
            rewards: rollout.rewards, values: rollout.values, dones: rollout.dones, lastValues: lastValues,
            environmentCount: configuration.environmentCount, gamma: configuration.gamma, lambda: configuration.gaeLambda)
        var metrics = try optimize(advantages: advantages, returns: returns, clipRange: max(clipRange, 1e-8))
        update += 1
        if configuration.klAdaptiveLearningRate {
            learningRate = KLControl(target: configuration.targetKL).adaptedLearningRate(learningRate, meanKL: metrics.approximateKL)
        }
        metrics.stepsPerSecond = Double(configuration.transitionsPerRollout) / (Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
        history.append(metrics)
        return metrics
    }

    /// Projects each annealed head's log-std onto its ceiling for this update, so the rollout
    /// and the update that follows it see one width.
    func capLogStds() {
        guard let logStd = network.logStd else { return }
        for (i, head) in space.heads.filter(\.hasLogStd).enumerated() {
            if let ceiling = configuration.logStdCeiling(forHead: head.name, update: update) { logStd[i] = min(logStd[i], ceiling) }
        }
    }

    // MARK: Rollout

    /// Steps every environment T times with the current policy, filling `rollout`; returns V of
    /// the observations that follow it (the GAE bootstrap).
    func collectRollout() throws -> [Float] {
        rollout.finishedReturns.removeAll(keepingCapacity: true)
        let n = configuration.environmentCount
        let o = observations.cols
        var action = [Float](repeating: 0, count: space.count)
        var scratch = [Float](repeating: 0, count: space.scratchCount)
        for t in 0..<configuration.stepsPerRollout {
            let rows = t * n ..< (t + 1) * n
            try checkFinite(observations, "observation", step: globalStep)
            if configuration.normalizeObservations { observations.withView { normalizer.update($0) } }
            observations.withView { raw in
                rollout.observations.withMutableView { normalizeObservations(raw, into: $0.rows(rows)) }
            }
            for e in 0..<n {
                if let mask = environments[e].actionMask {
                    for j in 0..<mask.count { rollout.masks![t * n + e, j] = mask[j] }
                }
            }
            let batch = rollout.observations.withView { $0.rows(rows).toMatrix() }
            let outputs = batch.withView { network.actor.forward($0) }
            let stepValues = batch.withView { network.critic.forward($0) }
            for e in 0..<n {
                let i = t * n + e
                rollout.values[i] = stepValues[e, 0]
                let logProb = action.withUnsafeMutableBufferPointer { a in
                    scratch.withUnsafeMutableBufferPointer { s in
                        rollout.masks.map { masks in
                            masks.withView { m in
                                network.distribution.sample(outputs: outputs.base + e * outputs.rowStride, logStd: network.logStd,
                                                            mask: m.base + i * m.rowStride, into: a.baseAddress!, scratch: s.baseAddress!, using: &rng)
                            }
                        } ?? network.distribution.sample(outputs: outputs.base + e * outputs.rowStride, logStd: network.logStd,
                                                         mask: nil, into: a.baseAddress!, scratch: s.baseAddress!, using: &rng)
                    }
                }
                rollout.logProbs[i] = logProb
                for h in 0..<space.count { rollout.actions[i, h] = action[h] }
            }
            for e in 0..<n {
                let i = t * n + e
                let action = (0..<space.count).map { rollout.actions[i, $0] }
                let result = environments[e].step(space.environmentValues(action))
                guard result.reward.isFinite else { throw PPOError.nonFinite(quantity: "reward", location: "environment \(e), step \(globalStep)") }
                var reward = result.reward
                episodeReturns[e] += reward
                // Reward scaling and the time-limit bootstrap follow Stable-Baselines3 (CleanRL's
                // gym wrappers scale; its GAE treats truncation as termination).
                if configuration.scaleRewards {
                    discountedReturns[e] = discountedReturns[e] * configuration.gamma + reward
                    returnNormalizer.update(scalar: discountedReturns[e])
                    reward /= (returnNormalizer.variance[0] + 1e-8).squareRoot()
                }
                if result.truncated && !result.terminated {
                    // Time-limit truncation: the final state still has a value.
                    reward += configuration.gamma * Double(value(ofRaw: result.observation))
                }
                rollout.rewards[i] = Float(reward)
                let done = result.terminated || result.truncated
                rollout.dones[i] = done ? 1 : 0
                let next = done ? environments[e].reset() : result.observation
                if done {
                    rollout.finishedReturns.append(episodeReturns[e])
                    episodeReturns[e] = 0
                    discountedReturns[e] = 0
                }
                for c in 0..<o { observations[e, c] = next[c] }
            }
            globalStep += n
        }
        try checkFinite(observations, "observation", step: globalStep)
        var normalized = Matrix(rows: n, cols: o)
        observations.withView { raw in normalized.withMutableView { normalizeObservations(raw, into: $0) } }
        let last = normalized.withView { network.critic.forward($0) }
        return (0..<n).map { last[$0, 0] }
    }

    func normalizeObservations(_ raw: MatrixView, into target: MutableMatrixView) {
        if configuration.normalizeObservations {
            normalizer.normalize(raw, into: target)
        } else {
            target.copy(from: raw)
        }
    }

    func value(ofRaw observation: [Float]) -> Float {
        var normalized = Matrix(rows: 1, cols: observation.count)
        Matrix(rows: 1, cols: observation.count, storage: observation).withView { raw in
            normalized.withMutableView { normalizeObservations(raw, into: $0) }
        }
        return normalized.withView { network.critic.forward($0)[0, 0] }
    }

    func checkFinite(_ m: Matrix, _ quantity: String, step: Int) throws {
        if let index = m.storage.firstIndex(where: { !$0.isFinite }) {
            throw PPOError.nonFinite(quantity: quantity, location: "environment \(index / m.cols), feature \(index % m.cols), step \(step)")
        }
    }

    // MARK: Optimisation

    /// K epochs of shuffled minibatch steps on the rollout (CleanRL's "Optimizing the policy
    /// and value network" loop).
    func optimize(advantages: [Float], returns: [Float], clipRange: Float) throws -> UpdateMetrics {
        let b = configuration.transitionsPerRollout, m = configuration.minibatchSize
        let loss = PPOLoss(configuration, clipRange: clipRange, heads: space.heads.map(\.name))
        let klControl = KLControl(target: configuration.targetKL)
        var totals = LossTotals(heads: space.count)
        var epochsCompleted = 0, stoppedEarly = false
        epochs: for _ in 0..<configuration.epochs {
            let order = rng.permutation(b)
            for start in stride(from: 0, to: b, by: m) {
                let minibatch = rollout.minibatch(Array(order[start ..< min(start + m, b)]), advantages: advantages, returns: returns)
                let pass = forward(minibatch)
                let terms = loss.evaluate(
                    newLogProbs: pass.evaluation.logProbs, oldLogProbs: minibatch.oldLogProbs, advantages: minibatch.advantages,
                    newValues: pass.values, oldValues: minibatch.oldValues, returns: minibatch.returns, entropies: pass.evaluation.entropies)
                if klControl.stopsEpochs(minibatchKL: terms.approximateKL) {
                    stoppedEarly = true
                    break epochs
                }
                guard terms.policyLoss.isFinite && terms.valueLoss.isFinite else {
                    throw PPOError.nonFinite(quantity: "loss", location: "update \(update), minibatch \(totals.minibatches)")
                }
                backward(pass, minibatch, terms)
                do {
                    try GradientClipping.clipGlobalNorm(network.arena, maxNorm: configuration.maxGradientNorm)
                } catch let error as NonFiniteValueError {
                    throw PPOError.nonFinite(quantity: "gradient", location: "\(error.location), update \(update)")
                }
                adam.update(network.arena, learningRate: learningRate)
                totals.add(terms)
            }
            epochsCompleted += 1
        }
        return totals.metrics(
            update: update, globalStep: globalStep, heads: space.heads.map(\.name),
            explainedVariance: Self.explainedVariance(predicted: rollout.values, target: returns),
            learningRate: learningRate, clipRange: clipRange, epochsCompleted: epochsCompleted, stoppedEarly: stoppedEarly,
            finishedReturns: rollout.finishedReturns)
    }

    /// The network's outputs on a minibatch: the actor's head outputs, the distribution's
    /// log-probabilities and entropies of the stored actions, and the critic's values.
    struct ForwardPass {
        var outputs: MatrixView
        var evaluation: MixedDistribution.Evaluation
        var values: [Float]
    }

    func forward(_ minibatch: Minibatch) -> ForwardPass {
        let outputs = minibatch.observations.withView { network.actor.forward($0) }
        let evaluation = network.distribution.evaluate(outputs: outputs, logStd: network.logStd, actions: minibatch.actions, masks: minibatch.masks)
        let values = minibatch.observations.withView { network.critic.forward($0) }
        return ForwardPass(outputs: outputs, evaluation: evaluation, values: (0..<minibatch.rows).map { values[$0, 0] })
    }

    /// ∂L/∂θ into the arena's gradients (zeroed first): through the heads and the actor, and
    /// through the critic, for the `forward` just run.
    func backward(_ pass: ForwardPass, _ minibatch: Minibatch, _ terms: PPOLoss.Terms) {
        network.arena.zeroGradients()
        var outputGradient = Matrix(rows: minibatch.rows, cols: space.outputWidth)
        outputGradient.withMutableView { dOut in
            minibatch.actions.withView { a in
                network.distribution.backward(pass.evaluation, outputs: pass.outputs, logStd: network.logStd, actions: a,
                                              logProbGradient: terms.logProbGradient, entropyGradient: terms.entropyGradient,
                                              into: dOut, logStdGradient: network.logStdGradient)
            }
            network.actor.backward(outputGradient: dOut.readOnly)
        }
        Matrix(rows: minibatch.rows, cols: 1, storage: terms.valueGradient).withView { network.critic.backward(outputGradient: $0) }
    }

    /// 1 − Var(R − V)/Var(R): 1 is a perfect critic, ≤ 0 no better than a constant.
    static func explainedVariance(predicted: [Float], target: [Float]) -> Double {
        func variance(_ x: [Double]) -> Double {
            let mean = x.reduce(0, +) / Double(x.count)
            return x.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(x.count)
        }
        let t = target.map(Double.init)
        let v = variance(t)
        guard v > 0 else { return .nan }
        return 1 - variance(zip(t, predicted).map { $0 - Double($1) }) / v
    }

    // MARK: Evaluation

    /// Mean undiscounted return of `episodes` episodes with the deterministic policy (the mode
    /// of every head), on fresh environments `makeEnvironment(environmentCount + k)`; the
    /// observation statistics are used, not updated.
    public func evaluate(episodes: Int) -> [Double] {
        let policy = Policy(network: network, normalizer: configuration.normalizeObservations ? normalizer : nil)
        return (0..<episodes).map { k in
            var environment = makeEnvironment(configuration.environmentCount + k)
            var observation = environment.reset()
            var total = 0.0
            while true {
                let action = policy.deterministicAction(observation, mask: environment.actionMask)
                let result = environment.step(space.environmentValues(action))
                total += result.reward
                if result.terminated || result.truncated { return total }
                observation = result.observation
            }
        }
    }

    /// The trained policy as a deployable checkpoint, with the environments' context features.
    public var checkpoint: PolicyCheckpoint {
        PolicyCheckpoint(network: network, normalizer: configuration.normalizeObservations
            ? normalizer : RunningNormalizer(size: normalizer.size, clip: .greatestFiniteMagnitude),
            features: environments[0].contextFeatures)
    }
}
