import Foundation
import NumericCore
import Testing
@testable import TunerPolicy

@Suite struct DistributionTests {
    let space = ActionSpace([
        .categorical("variant", choices: ["bm25", "dense", "hybrid"]),
        .discrete("k", 3...7),
        .bernoulli("rerank"),
        .continuous("weight", 0.0...1.0),
        .discretisedLogNormal("depth", 2...6),
    ])

    /// L = Σ_i g_i·log π(a_i) + Σ_h Σ_i e_hi·H_h,i through the actor and every head; its gradient
    /// by backprop must match central finite differences (h = 1e-2, Double accumulation).
    @Test(arguments: [false, true])
    func lossGradientThroughEveryHeadMatchesFiniteDifferences(masked: Bool) throws {
        var rng = RandomGenerator(seed: 77)
        let network = PolicyNetwork(architecture: PolicyArchitecture(observationSize: 3, actionSpace: space, hiddenSizes: [8]))
        try network.initialize(using: &rng)
        // Larger head weights than the 0.01 init so every term has a visible gradient.
        for i in 0..<network.arena.count { network.arena.values[i] += Float(rng.normal()) * 0.3 }
        network.logStd![0] = -0.4
        network.logStd![1] = -0.7
        let rows = 5
        let observations = randomMatrix(rows, 3, &rng)
        var actions = Matrix(rows: rows, cols: 5)
        var masks = Matrix(rows: rows, cols: space.maskWidth, repeating: 1)
        for r in 0..<rows {
            actions[r, 0] = Float(r % 3)
            actions[r, 1] = Float((r * 2) % 5)
            actions[r, 2] = Float(r % 2)
            actions[r, 3] = Float(rng.normal()) * 0.5
            actions[r, 4] = Float((r * 3) % 5)
            if masked { masks[r, (r + 1) % 3] = 0; masks[r, 3 + (r * 2 + 1) % 5] = 0; masks[r, 8 + (r * 3 + 2) % 5] = 0 }
        }
        let g = (0..<rows).map { _ in Float(rng.normal()) }
        let e = (0..<5).map { _ in (0..<rows).map { _ in Float(rng.normal()) } }

        func loss() -> Double {
            let evaluation = evaluate()
            var total = 0.0
            for r in 0..<rows {
                total += Double(g[r] * evaluation.logProbs[r])
                for h in 0..<5 { total += Double(e[h][r] * evaluation.entropies[h][r]) }
            }
            return total
        }
        func evaluate() -> MixedDistribution.Evaluation {
            let outputs = observations.withView { network.actor.forward($0) }
            return network.distribution.evaluate(outputs: outputs, logStd: network.logStd, actions: actions, masks: masked ? masks : nil)
        }

        network.arena.zeroGradients()
        let evaluation = evaluate()
        let outputs = observations.withView { network.actor.forward($0) }
        var dOut = Matrix(rows: rows, cols: space.outputWidth)
        actions.withView { a in
            dOut.withMutableView { d in
                network.distribution.backward(evaluation, outputs: outputs, logStd: network.logStd, actions: a, logProbGradient: g,
                                              entropyGradient: e, into: d, logStdGradient: network.logStdGradient)
            }
        }
        dOut.withView { network.actor.backward(outputGradient: $0) }
        let analytic = Array(network.arena.gradients)
        let actorAndLogStd = network.arena.layout.slots.filter { $0.name.hasPrefix("actor") }
        let h: Float = 1e-2
        for slot in actorAndLogStd {
            for index in slot.offset ..< slot.offset + slot.count {
                let original = network.arena.values[index]
                network.arena.values[index] = original + h
                let plus = loss()
                network.arena.values[index] = original - h
                let minus = loss()
                network.arena.values[index] = original
                let numeric = (plus - minus) / Double(2 * h)
                #expect(abs(Double(analytic[index]) - numeric) <= 3e-3 + 1e-2 * abs(numeric),
                        "\(slot.name)[\(index - slot.offset)]: backprop \(analytic[index]) vs \(numeric)")
            }
        }
    }

    /// A fresh network's continuous heads start at the centre of their ranges (w 0.5 on [0, 1],
    /// torque 0 on [−2, 2]) whatever the observation: the head weights are small, the bias is
    /// the centre.
    @Test func continuousHeadsStartAtTheCentreOfTheirRanges() throws {
        let space = ActionSpace([.continuous("weight", 0.0...1.0), .bernoulli("rerank"), .continuous("torque", -2.0...2.0)])
        var rng = RandomGenerator(seed: 3)
        let network = PolicyNetwork(architecture: PolicyArchitecture(observationSize: 4, actionSpace: space, hiddenSizes: [16]))
        try network.initialize(using: &rng)
        let policy = Policy(network: network, normalizer: nil)
        for _ in 0..<20 {
            let action = policy.deterministicAction((0..<4).map { _ in Float(rng.normal()) * 2 })
            #expect(abs(action[0] - 0.5) < 0.05 && abs(action[2]) < 0.05, "\(action)")
        }
    }

    @Test func everyHeadIsANormalisedDistribution() {
        let distribution = MixedDistribution(space: space)
        var logits: [Float] = [0.3, -1.2, 2.0]
        var p = [Float](repeating: 0, count: 3), logP = p
        _ = MixedDistribution.softmax(&logits, count: 3, mask: nil, p: &p, logP: &logP)
        #expect(abs(p.reduce(0, +) - 1) < 1e-6)
        #expect(zip(p, logP).allSatisfy { abs(log($0) - $1) < 1e-5 })
        // Bernoulli: p(1) + p(0) = 1 for any logit.
        for z: Float in [-30, -2, 0, 0.7, 30] {
            let total = exp(Double(MixedDistribution.logSigmoid(z))) + exp(Double(MixedDistribution.logSigmoid(-z)))
            #expect(abs(total - 1) < 1e-6)
        }
        // Gaussian head: the density over a fine grid integrates to 1.
        let outputs: [Float] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0.4, 0]
        var logStd: [Float] = [-0.7, 0]
        var integral = 0.0
        let step: Float = 0.001
        var a: Float = -4
        while a < 5 {
            let actions = Matrix([[0, 0, 0, a, 0]])
            let evaluation = Matrix(rows: 1, cols: 11, storage: outputs).withView { o in
                distribution.evaluate(outputs: o, logStd: &logStd, actions: actions, masks: nil)
            }
            // Subtract the categorical, discrete, Bernoulli and depth parts (at zero outputs the
            // first three are uniform).
            let rest = log(1.0 / 3) + log(1.0 / 5) + log(0.5) + log(Self.logNormal(2...6, z: 0, s: 0)[0])
            integral += exp(Double(evaluation.logProbs[0]) - rest) * Double(step)
            a += step
        }
        #expect(abs(integral - 1) < 1e-3)
    }

    /// Hand-computed log-normal probabilities over `values` for head output z and log-std s:
    /// p(x) ∝ exp(−½((log x − μ)/σ)²)/x over the allowed x, μ = m + c·z, σ = c·e^s.
    static func logNormal(_ values: ClosedRange<Int>, z: Double, s: Double, mask: [Float]? = nil) -> [Double] {
        let t = values.map { log(Double($0)) }
        let m = (t.first! + t.last!) / 2, c = (t.last! - t.first!) / 2
        let mu = m + c * z, sigma = c * exp(s)
        let weights = t.indices.map { j in (mask?[j] ?? 1) > 0 ? exp(-0.5 * pow((t[j] - mu) / sigma, 2) - t[j]) : 0 }
        let total = weights.reduce(0, +)
        return weights.map { $0 / total }
    }

    /// The log-normal head: normalised with and without a mask and equal to the hand-computed
    /// probabilities, with their entropy; the mode is the most probable allowed value, and draws
    /// follow p.
    @Test func discretisedLogNormalIsANormalisedDistributionOverTheAllowedIntegers() {
        let space = ActionSpace([.discretisedLogNormal("k", 3...32)])
        let distribution = MixedDistribution(space: space)
        let n = 30
        let z: Float = -0.6, s: Float = -0.9
        var logStd: [Float] = [s]
        var skipping = [Float](repeating: 1, count: n)
        skipping[1] = 0
        skipping[2] = 0
        for mask in [[Float](repeating: 1, count: n), skipping] {
            let expected = Self.logNormal(3...32, z: Double(z), s: Double(s), mask: mask)
            var total = 0.0
            var entropies: [Float] = []
            for j in 0..<n where mask[j] > 0 {
                let evaluation = Matrix([[z]]).withView { o in
                    distribution.evaluate(outputs: o, logStd: &logStd, actions: Matrix([[Float(j)]]), masks: Matrix(rows: 1, cols: n, storage: mask))
                }
                entropies.append(evaluation.entropies[0][0])
                let p = exp(Double(evaluation.logProbs[0]))
                #expect(abs(p - expected[j]) < 1e-5, "p(k = \(3 + j)) = \(p), expected \(expected[j])")
                total += p
            }
            #expect(abs(total - 1) < 1e-5)
            let entropy = -expected.filter { $0 > 0 }.reduce(0) { $0 + $1 * log($1) }
            #expect(entropies.allSatisfy { abs(Double($0) - entropy) < 1e-4 })

            var outputs: [Float] = [z]
            var action: [Float] = [0]
            var scratch = [Float](repeating: 0, count: space.scratchCount)
            var maskCopy = mask
            _ = distribution.mode(outputs: &outputs, logStd: &logStd, mask: &maskCopy, into: &action, scratch: &scratch)
            #expect(Int(action[0]) == expected.indices.max { expected[$0] < expected[$1] }!)

            var counts = [Double](repeating: 0, count: n)
            var rng = RandomGenerator(seed: 5)
            let draws = 20_000
            for _ in 0..<draws {
                _ = distribution.sample(outputs: &outputs, logStd: &logStd, mask: &maskCopy, into: &action, scratch: &scratch, using: &rng)
                counts[Int(action[0])] += 1
            }
            for j in 0..<n {
                // Within 5 binomial standard errors of p.
                let se = (expected[j] * (1 - expected[j]) / Double(draws)).squareRoot()
                #expect(abs(counts[j] / Double(draws) - expected[j]) <= 5 * se + 1e-9, "draw frequency of k = \(3 + j)")
            }
        }
        // At z = 0, s = 0 (a fresh network) the bell spans the range on the log scale: k 3-5
        // get 26% (a softmax at zero logits: 10%) and k = 3 is ten times as likely as k = 32.
        let broad = Self.logNormal(3...32, z: 0, s: 0)
        #expect(broad[0...2].reduce(0, +) > 0.25 && broad[0] > 10 * broad[29])
    }

    @Test func maskedChoicesAreNeverTakenAndLeaveTheEntropy() {
        var logits: [Float] = [0, 5, 0]
        var mask: [Float] = [1, 0, 1]
        var p = [Float](repeating: 0, count: 3), logP = p
        let entropy = MixedDistribution.softmax(&logits, count: 3, mask: &mask, p: &p, logP: &logP)
        #expect(p == [0.5, 0, 0.5])
        #expect(abs(entropy - Float(log(2.0))) < 1e-6)
        let distribution = MixedDistribution(space: ActionSpace([.categorical("c", choices: ["a", "b", "c"])]))
        var rng = RandomGenerator(seed: 1)
        var action: [Float] = [0]
        var scratch = [Float](repeating: 0, count: 6)
        for _ in 0..<500 {
            _ = distribution.sample(outputs: &logits, logStd: nil, mask: &mask, into: &action, scratch: &scratch, using: &rng)
            #expect(action[0] != 1)
        }
        _ = distribution.mode(outputs: &logits, logStd: nil, mask: &mask, into: &action, scratch: &scratch)
        #expect(action[0] == 0)
    }
}

func randomMatrix(_ rows: Int, _ cols: Int, _ rng: inout RandomGenerator) -> Matrix {
    Matrix(rows: rows, cols: cols, storage: (0..<(rows * cols)).map { _ in Float(rng.normal()) })
}
