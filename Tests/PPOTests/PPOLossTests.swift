import Foundation
import NumericCore
import Testing
import TunerPolicy
@testable import PPO

@Suite struct PPOLossTests {
    /// c_v 0.5, no value clipping, no advantage normalisation, c_h 0.01 for one head "h".
    static func loss(clipValueLoss: Bool = false, normalizeAdvantages: Bool = false, entropy: [String: Float] = ["h": 0.01]) -> PPOLoss {
        var configuration = PPOConfiguration()
        configuration.valueCoefficient = 0.5
        configuration.clipValueLoss = clipValueLoss
        configuration.normalizeAdvantages = normalizeAdvantages
        configuration.entropyCoefficientByHead = entropy
        return PPOLoss(configuration, clipRange: 0.2, heads: entropy.keys.sorted())
    }
    let loss = Self.loss()

    /// Two rows worked by hand: r = 1.5 with A = 1 is clipped (−1.2, no gradient), r = 0.5 is
    /// not (−0.5, gradient −A·r/M = −0.25); L_V = ½·mean(1², 2²) = 1.25; mean H = 2.
    @Test func twoRowsMatchTheHandComputedLoss() {
        let terms = loss.evaluate(
            newLogProbs: [Float(log(1.5)), Float(log(0.5))], oldLogProbs: [0, 0], advantages: [1, 1],
            newValues: [1, 0], oldValues: [0, 0], returns: [0, 2], entropies: [[1, 3]])
        #expect(abs(terms.policyLoss - -0.85) < 1e-6)
        #expect(abs(terms.valueLoss - 1.25) < 1e-6)
        #expect(abs(terms.total - (-0.85 + 0.5 * 1.25 - 0.01 * 2)) < 1e-6)
        #expect(abs(terms.approximateKL - ((0.5 - log(1.5)) + (-0.5 - log(0.5))) / 2) < 1e-6)
        #expect(terms.clipFraction == 1)
        #expect(terms.logProbGradient[0] == 0 && abs(terms.logProbGradient[1] - -0.25) < 1e-6)
        #expect(abs(terms.valueGradient[0] - 0.25) < 1e-6 && abs(terms.valueGradient[1] - -0.5) < 1e-6)
        #expect(terms.entropyGradient == [[-0.005, -0.005]])
    }

    /// ∂L/∂log π, ∂L/∂V and ∂L/∂H_h against central differences, with rows on both sides of
    /// both clips (none within 2h of a kink), advantages normalised and not.
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func gradientsMatchFiniteDifferences(clipValueLoss: Bool, normalizeAdvantages: Bool) {
        let loss = Self.loss(clipValueLoss: clipValueLoss, normalizeAdvantages: normalizeAdvantages, entropy: ["a": 0.01, "b": 0.03])
        var rng = RandomGenerator(seed: 5)
        let rows = 24
        func draw(_ range: Range<Double>) -> [Float] { (0..<rows).map { _ in Float(rng.uniform(in: range)) } }
        let old = draw(-2 ..< -0.5), advantages = draw(-1.5 ..< 1.5), oldValues = draw(-1 ..< 1), returns = draw(-2 ..< 2)
        // log-ratios in ±0.45 and value steps in ±0.5, kept 0.02 away from the clip edges.
        let logRatios = draw(-0.45 ..< 0.45).map { r -> Float in
            let edges = [Float(log(0.8)), Float(log(1.2))]
            return edges.contains { abs(r - $0) < 0.02 } ? r + 0.05 : r
        }
        let steps = draw(-0.5 ..< 0.5).map { abs(abs($0) - 0.2) < 0.02 ? $0 * 1.3 : $0 }
        let newLogProbs = zip(old, logRatios).map { $0 + $1 }
        let newValues = zip(oldValues, steps).map { $0 + $1 }
        let entropies = [draw(0 ..< 2), draw(-1 ..< 1)]
        func total(_ logProbs: [Float], _ values: [Float], _ entropies: [[Float]]) -> Double {
            loss.evaluate(newLogProbs: logProbs, oldLogProbs: old, advantages: advantages,
                          newValues: values, oldValues: oldValues, returns: returns, entropies: entropies).total
        }
        let terms = loss.evaluate(newLogProbs: newLogProbs, oldLogProbs: old, advantages: advantages,
                                  newValues: newValues, oldValues: oldValues, returns: returns, entropies: entropies)
        #expect(terms.logProbGradient.contains(0) && terms.logProbGradient.contains { $0 != 0 }, "rows on both sides of the clip")
        if clipValueLoss { #expect(terms.valueGradient.contains(0), "a value clipped outside ±ε") }

        let h: Float = 1e-3
        /// (L(x + h) − L(x − h)) / 2h, where `shifted(δ)` is L with one input moved by δ.
        func numeric(_ shifted: (Float) -> Double) -> Double { (shifted(h) - shifted(-h)) / Double(2 * h) }
        func moved(_ x: [Float], _ k: Int, _ d: Float) -> [Float] { var x = x; x[k] += d; return x }
        func agree(_ analytic: Float, _ numeric: Double) -> Bool { abs(Double(analytic) - numeric) <= 2e-4 + 1e-2 * abs(numeric) }
        for k in 0..<rows {
            let dLogProb = numeric { total(moved(newLogProbs, k, $0), newValues, entropies) }
            #expect(agree(terms.logProbGradient[k], dLogProb), "∂L/∂log π[\(k)]: \(terms.logProbGradient[k]) vs \(dLogProb)")
            let dValue = numeric { total(newLogProbs, moved(newValues, k, $0), entropies) }
            #expect(agree(terms.valueGradient[k], dValue), "∂L/∂V[\(k)]: \(terms.valueGradient[k]) vs \(dValue)")
            for head in 0..<2 {
                let dEntropy = numeric { d in
                    var e = entropies
                    e[head] = moved(e[head], k, d)
                    return total(newLogProbs, newValues, e)
                }
                #expect(agree(terms.entropyGradient[head][k], dEntropy), "∂L/∂H[\(head)][\(k)]: \(terms.entropyGradient[head][k]) vs \(dEntropy)")
            }
        }
    }

    /// The trainer's gradient of L with respect to every parameter — actor, critic and log-std,
    /// through every kind of head and an action mask — against central differences of the
    /// loss on the same minibatch.
    @Test func trainerGradientThroughTheNetworkMatchesFiniteDifferences() throws {
        var configuration = PPOConfiguration.preset(.default, task: .mixed)
        configuration.environmentCount = 2
        configuration.stepsPerRollout = 16
        configuration.totalSteps = 32
        configuration.minibatchSize = 32
        configuration.hiddenSizes = [8]
        configuration.clipValueLoss = true
        configuration.entropyCoefficient = 0.02
        let trainer = try PPOTrainer(configuration: configuration) { MixedTargetTask(seed: UInt64(10 + $0), maskedColour: true) }
        let lastValues = try trainer.collectRollout()
        let (advantages, returns) = GAE.compute(
            rewards: trainer.rollout.rewards, values: trainer.rollout.values, dones: trainer.rollout.dones, lastValues: lastValues,
            environmentCount: 2, gamma: configuration.gamma, lambda: configuration.gaeLambda)
        let minibatch = trainer.rollout.minibatch(Array(0..<32), advantages: advantages, returns: returns)
        let loss = PPOLoss(configuration, clipRange: 0.2, heads: trainer.space.heads.map(\.name))
        #expect(loss.entropyCoefficients == [0.02, 0.02, 0.02, 0.02] && loss.clipValueLoss && loss.normalizeAdvantages)
        func terms() -> PPOLoss.Terms {
            let pass = trainer.forward(minibatch)
            return loss.evaluate(newLogProbs: pass.evaluation.logProbs, oldLogProbs: minibatch.oldLogProbs,
                                 advantages: minibatch.advantages, newValues: pass.values, oldValues: minibatch.oldValues,
                                 returns: minibatch.returns, entropies: pass.evaluation.entropies)
        }
        let pass = trainer.forward(minibatch)
        trainer.backward(pass, minibatch, terms())
        let arena = trainer.network.arena
        let analytic = Array(arena.gradients)
        #expect(analytic.contains { $0 != 0 })
        let h: Float = 1e-2
        for slot in arena.layout.slots {
            for index in slot.offset ..< slot.offset + slot.count {
                let original = arena.values[index]
                arena.values[index] = original + h
                let plus = terms().total
                arena.values[index] = original - h
                let minus = terms().total
                arena.values[index] = original
                let numeric = (plus - minus) / Double(2 * h)
                #expect(abs(Double(analytic[index]) - numeric) <= 2e-3 + 1e-2 * abs(numeric),
                        "\(slot.name)[\(index - slot.offset)]: backprop \(analytic[index]) vs \(numeric)")
            }
        }
    }
}

@Suite struct KLControlTests {
    @Test func earlyStopAndRateFollowTheNamedFactors() {
        let control = KLControl(target: 0.02)
        #expect(!control.stopsEpochs(minibatchKL: 0.0299) && control.stopsEpochs(minibatchKL: 0.0301))
        #expect(abs(control.adaptedLearningRate(3e-4, meanKL: 0.041) - 2e-4) < 1e-9)
        #expect(abs(control.adaptedLearningRate(3e-4, meanKL: 0.0099) - 4.5e-4) < 1e-9)
        #expect(control.adaptedLearningRate(3e-4, meanKL: 0.02) == 3e-4)
        #expect(control.adaptedLearningRate(9e-3, meanKL: 0) == 1e-2)
        #expect(control.adaptedLearningRate(1.2e-6, meanKL: 1) == 1e-6)
        #expect(!KLControl(target: nil).stopsEpochs(minibatchKL: 100))
    }
}
