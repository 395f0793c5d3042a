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

    // Rollout storage, row t·N + e.
    var rolloutObservations: Matrix
    var rolloutActions: Matrix
    var rolloutMasks: Matrix?
    var logProbs: [Float]
    var values: [Float]
    var rewards: [Float]
    var dones: [Float]
    var finishedReturns: [Double] = []

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
        rolloutObservations = Matrix(rows: b, cols: first.observationSize)
        rolloutActions = Matrix(rows: b, cols: space.count)
        rolloutMasks = first.actionMask == nil ? nil : Matrix(rows: b, cols: space.maskWidth)
        logProbs = [Float](repeating: 0, count: b)
        values = [Float](repeating: 0, count: b)
        rewards = [Float](repeating: 0, count: b)
        dones = [Float](repeating: 0, count: b)
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
        finishedReturns.removeAll(keepingCapacity: true)
        let lastValues = try collectRollout()
        let (advantages, returns) = GAE.compute(
            rewards: rewards, values: values, dones: dones, lastValues: lastValues,
            environmentCount: configuration.environmentCount, gamma: configuration.gamma, lambda: configuration.gaeLambda)
        var metrics = try optimize(advantages: advantages, returns: returns, clipRange: max(clipRange, 1e-8))
        update += 1
        if configuration.klAdaptiveLearningRate, let target = configuration.targetKL {
            if metrics.approximateKL > 2 * Double(target) { learningRate = max(learningRate / 1.5, 1e-6) }
            if metrics.approximateKL < Double(target) / 2 { learningRate = min(learningRate * 1.5, 1e-2) }
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

    /// Steps every environment T times with the current policy, filling the rollout storage;
    /// returns V of the observations that follow the rollout (the GAE bootstrap).
    func collectRollout() throws -> [Float] {
        let n = configuration.environmentCount
        let o = observations.cols
        var action = [Float](repeating: 0, count: space.count)
        var scratch = [Float](repeating: 0, count: space.scratchCount)
        for t in 0..<configuration.stepsPerRollout {
            let rows = t * n ..< (t + 1) * n
            try checkFinite(observations, "observation", step: globalStep)
            if configuration.normalizeObservations { observations.withView { normalizer.update($0) } }
            observations.withView { raw in
                rolloutObservations.withMutableView { normalizeObservations(raw, into: $0.rows(rows)) }
            }
            for e in 0..<n {
                if let mask = environments[e].actionMask {
                    for j in 0..<mask.count { rolloutMasks![t * n + e, j] = mask[j] }
                }
            }
            let batch = rolloutObservations.withView { $0.rows(rows).toMatrix() }
            let outputs = batch.withView { network.actor.forward($0) }
            let stepValues = batch.withView { network.critic.forward($0) }
            for e in 0..<n {
                let i = t * n + e
                values[i] = stepValues[e, 0]
                let logProb = action.withUnsafeMutableBufferPointer { a in
                    scratch.withUnsafeMutableBufferPointer { s in
                        rolloutMasks.map { masks in
                            masks.withView { m in
                                network.distribution.sample(outputs: outputs.base + e * outputs.rowStride, logStd: network.logStd,
                                                            mask: m.base + i * m.rowStride, into: a.baseAddress!, scratch: s.baseAddress!, using: &rng)
                            }
                        } ?? network.distribution.sample(outputs: outputs.base + e * outputs.rowStride, logStd: network.logStd,
                                                         mask: nil, into: a.baseAddress!, scratch: s.baseAddress!, using: &rng)
                    }
                }
                logProbs[i] = logProb
                for h in 0..<space.count { rolloutActions[i, h] = action[h] }
            }
            for e in 0..<n {
                let i = t * n + e
                let action = (0..<space.count).map { rolloutActions[i, $0] }
                let result = environments[e].step(space.environmentValues(action))
                guard result.reward.isFinite else { throw PPOError.nonFinite(quantity: "reward", location: "environment \(e), step \(globalStep)") }
                var reward = result.reward
                episodeReturns[e] += reward
                if configuration.scaleRewards {
                    discountedReturns[e] = discountedReturns[e] * configuration.gamma + reward
                    returnNormalizer.update(scalar: discountedReturns[e])
                    reward /= (returnNormalizer.variance[0] + 1e-8).squareRoot()
                }
                if result.truncated && !result.terminated {
                    // Time-limit truncation: the final state still has a value.
                    reward += configuration.gamma * Double(value(ofRaw: result.observation))
                }
                rewards[i] = Float(reward)
                let done = result.terminated || result.truncated
                dones[i] = done ? 1 : 0
                let next = done ? environments[e].reset() : result.observation
                if done {
                    finishedReturns.append(episodeReturns[e])
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

    func optimize(advantages: [Float], returns: [Float], clipRange: Float) throws -> UpdateMetrics {
        let b = configuration.transitionsPerRollout
        let m = configuration.minibatchSize
        let o = rolloutObservations.cols
        let w = space.outputWidth
        var miniObservations = Matrix(rows: m, cols: o)
        var miniActions = Matrix(rows: m, cols: space.count)
        var miniMasks = rolloutMasks.map { Matrix(rows: m, cols: $0.cols) }
        var outputGradient = Matrix(rows: m, cols: w)
        var valueGradient = Matrix(rows: m, cols: 1)
        var sums = (policy: 0.0, value: 0.0, kl: 0.0, clip: 0.0, entropy: [Double](repeating: 0, count: space.count))
        var minibatches = 0
        var epochsCompleted = 0
        var stoppedEarly = false

        epochLoop: for _ in 0..<configuration.epochs {
            let order = rng.permutation(b)
            for start in stride(from: 0, to: b, by: m) {
                let index = Array(order[start ..< min(start + m, b)])
                let rows = index.count
                gather(rolloutObservations, index, into: &miniObservations)
                gather(rolloutActions, index, into: &miniActions)
                if let masks = rolloutMasks { gather(masks, index, into: &miniMasks!) }

                // Forward: new log-probabilities, entropies and values.
                let obs = miniObservations.withView { $0.rows(0..<rows).toMatrix() }
                let outputs = obs.withView { network.actor.forward($0) }
                let actions = miniActions.withView { $0.rows(0..<rows).toMatrix() }
                let masks = miniMasks.map { mm in mm.withView { $0.rows(0..<rows).toMatrix() } }
                actions.withView { a in
                    if let masks {
                        masks.withView { network.distribution.evaluate(outputs: outputs, logStd: network.logStd, actions: a, masks: $0) }
                    } else {
                        network.distribution.evaluate(outputs: outputs, logStd: network.logStd, actions: a, masks: nil)
                    }
                }
                let newValues = obs.withView { network.critic.forward($0) }
                let newLogProbs = network.distribution.logProbs

                // Ratio, approximate KL (r − 1 − log r) and clip fraction.
                var ratio = [Float](repeating: 0, count: rows)
                var kl = 0.0, clipped = 0.0
                for k in 0..<rows {
                    let logRatio = newLogProbs[k] - logProbs[index[k]]
                    ratio[k] = Foundation.exp(logRatio)
                    kl += Double((ratio[k] - 1) - logRatio)
                    if abs(ratio[k] - 1) > clipRange { clipped += 1 }
                }
                kl /= Double(rows)
                if let target = configuration.targetKL, kl > 1.5 * Double(target) {
                    stoppedEarly = true
                    break epochLoop
                }

                // Advantages normalised within the minibatch (not for a minibatch of one).
                var adv = index.map { advantages[$0] }
                if configuration.normalizeAdvantages && rows > 1 {
                    let mean = adv.reduce(0, +) / Float(rows)
                    let std = (adv.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(rows - 1)).squareRoot()
                    adv = adv.map { ($0 - mean) / (std + 1e-8) }
                }

                // Clipped surrogate: L = mean(max(−A·r, −A·clip(r, 1 ± ε))); ∂/∂log π = −A·r when the
                // unclipped term is the larger, else 0.
                var policyLoss = 0.0
                var logProbGradient = [Float](repeating: 0, count: rows)
                for k in 0..<rows {
                    let unclipped = -adv[k] * ratio[k]
                    let clippedLoss = -adv[k] * min(max(ratio[k], 1 - clipRange), 1 + clipRange)
                    policyLoss += Double(max(unclipped, clippedLoss))
                    if unclipped >= clippedLoss { logProbGradient[k] = -adv[k] * ratio[k] / Float(rows) }
                }
                policyLoss /= Double(rows)

                // Entropy bonus: −c_h·mean(H_h) per head.
                var entropyGradient: [[Float]] = []
                for (h, head) in space.heads.enumerated() {
                    let coefficient = configuration.entropyCoefficient(forHead: head.name)
                    entropyGradient.append([Float](repeating: -coefficient / Float(rows), count: rows))
                    sums.entropy[h] += Double(network.distribution.entropies[h].reduce(0, +)) / Double(rows)
                }

                // Value loss: c_v · ½·mean((V − R)²), or the max with the clipped version.
                var valueLoss = 0.0
                for k in 0..<rows {
                    let v = newValues[k, 0], target = returns[index[k]], old = values[index[k]]
                    let plain = (v - target) * (v - target)
                    var gradient = v - target
                    var loss = plain
                    if configuration.clipValueLoss {
                        let vClipped = old + min(max(v - old, -clipRange), clipRange)
                        let clippedLoss = (vClipped - target) * (vClipped - target)
                        if clippedLoss > plain {
                            loss = clippedLoss
                            gradient = abs(v - old) < clipRange ? vClipped - target : 0
                        }
                    }
                    valueLoss += Double(0.5 * loss)
                    valueGradient[k, 0] = configuration.valueCoefficient * gradient / Float(rows)
                }
                valueLoss /= Double(rows)
                guard policyLoss.isFinite && valueLoss.isFinite else {
                    throw PPOError.nonFinite(quantity: "loss", location: "update \(update), minibatch \(minibatches)")
                }

                // Backward through heads, actor and critic into one gradient buffer; one clip; one step.
                network.arena.zeroGradients()
                outputGradient.withMutableView { dOut in
                    actions.withView { a in
                        network.distribution.backward(outputs: outputs, logStd: network.logStd, actions: a,
                                                      logProbGradient: logProbGradient, entropyGradient: entropyGradient,
                                                      into: dOut.rows(0..<rows), logStdGradient: network.logStdGradient)
                    }
                    network.actor.backward(outputGradient: dOut.rows(0..<rows).readOnly)
                }
                valueGradient.withView { network.critic.backward(outputGradient: $0.rows(0..<rows)) }
                do {
                    try GradientClipping.clipGlobalNorm(network.arena, maxNorm: configuration.maxGradientNorm)
                } catch let error as NonFiniteValueError {
                    throw PPOError.nonFinite(quantity: "gradient", location: "\(error.location), update \(update)")
                }
                adam.update(network.arena, learningRate: learningRate)

                sums.policy += policyLoss
                sums.value += valueLoss
                sums.kl += kl
                sums.clip += clipped / Double(rows)
                minibatches += 1
            }
            epochsCompleted += 1
        }

        let count = Double(max(minibatches, 1))
        let entropyByHead = Dictionary(uniqueKeysWithValues: zip(space.heads.map(\.name), sums.entropy.map { $0 / count }))
        return UpdateMetrics(
            update: update, globalStep: globalStep, policyLoss: sums.policy / count, valueLoss: sums.value / count,
            entropy: entropyByHead.values.reduce(0, +), entropyByHead: entropyByHead,
            approximateKL: sums.kl / count, clipFraction: sums.clip / count,
            explainedVariance: Self.explainedVariance(predicted: values, target: returns),
            learningRate: Double(learningRate), clipRange: Double(clipRange), epochsCompleted: epochsCompleted,
            stoppedEarly: stoppedEarly,
            meanEpisodeReturn: finishedReturns.isEmpty ? nil : finishedReturns.reduce(0, +) / Double(finishedReturns.count),
            stepsPerSecond: 0)
    }

    func gather(_ source: Matrix, _ index: [Int], into target: inout Matrix) {
        let cols = source.cols
        source.storage.withUnsafeBufferPointer { s in
            target.storage.withUnsafeMutableBufferPointer { t in
                for (k, i) in index.enumerated() {
                    (t.baseAddress! + k * cols).update(from: s.baseAddress! + i * cols, count: cols)
                }
            }
        }
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

    /// The trained policy as a deployable checkpoint.
    public var checkpoint: PolicyCheckpoint {
        PolicyCheckpoint(network: network, normalizer: configuration.normalizeObservations
            ? normalizer : RunningNormalizer(size: normalizer.size, clip: .greatestFiniteMagnitude))
    }
}
