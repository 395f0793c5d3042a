import Foundation
import NumericCore

/// The joint distribution of an ``ActionSpace`` given the actor's output row: a product of one
/// distribution per head, so the joint log-probability and entropy are sums over heads.
///
/// Per head (z the head's outputs, a the stored action component):
/// - categorical / discrete: p = softmax(z) over the unmasked entries (masked entries have
///   probability 0 and drop out of the entropy); log p(a) = z_a − logsumexp(z);
///   ∂log p(a)/∂z_j = 1[j = a] − p_j; ∂H/∂z_j = −p_j (log p_j + H).
/// - Bernoulli: p = σ(z); log p(a) = a·log σ(z) + (1 − a)·log σ(−z); ∂/∂z = a − σ(z);
///   H = −p log p − (1 − p) log(1 − p); ∂H/∂z = −z·p(1 − p).
/// - continuous: N(μ = z, σ = e^s) with s the head's log-std clamped to `logStdRange`;
///   log p(a) = −(a − μ)²/2σ² − s − ½ log 2π; ∂/∂μ = (a − μ)/σ²; ∂/∂s = (a − μ)²/σ² − 1;
///   H = s + ½(1 + log 2π) (differential, may be negative); ∂H/∂s = 1. A clamped log-std
///   gets no gradient.
/// - discretised log-normal over the values x_j (index j): the softmax of the logits
///   l_j = −½u_j² − t_j (the log-normal density at x_j), t_j = log x_j, u_j = (t_j − μ)/σ, with
///   μ = m + c·z, σ = c·e^s, m and c the centre and half-width of [t_first, t_last] — so z = 0,
///   s = 0 is a broad bell over the whole range. With g_j = ∂L/∂l_j as for a categorical head,
///   ∂L/∂z = Σ_j g_j u_j e^{−s} and ∂L/∂s = Σ_j g_j u_j² (none when s is clamped). Its entropy
///   is the discrete one (≥ 0).
public final class MixedDistribution {
    public let space: ActionSpace
    public let logStdRange: ClosedRange<Float>
    private let outputOffsets: [Int]
    private let maskOffsets: [Int]
    private let valueOffsets: [Int]
    private let logStdIndex: [Int?]
    private let logScales: [LogScale?]

    static let halfLogTwoPi = Float(0.5 * Foundation.log(2 * Double.pi))

    public init(space: ActionSpace, logStdRange: ClosedRange<Float> = -5...2) {
        self.space = space
        self.logStdRange = logStdRange
        outputOffsets = space.outputOffsets
        maskOffsets = space.maskOffsets
        valueOffsets = space.valueOffsets
        var next = 0
        logScales = space.heads.map { head in
            guard case let .discretisedLogNormal(lower, upper) = head.kind else { return nil }
            return LogScale(lower: lower, upper: upper)
        }
        logStdIndex = space.heads.map { head in
            guard head.hasLogStd else { return nil }
            defer { next += 1 }
            return next
        }
    }

    /// The log-std actually used by a head and whether it was clamped.
    @inline(__always)
    func effectiveLogStd(_ raw: Float) -> (value: Float, clamped: Bool) {
        if raw < logStdRange.lowerBound { return (logStdRange.lowerBound, true) }
        if raw > logStdRange.upperBound { return (logStdRange.upperBound, true) }
        return (raw, false)
    }

    /// The log-normal head's geometry: t_j = log x_j for each of its values x_j, and the centre
    /// m and half-width c of [t_first, t_last].
    struct LogScale {
        let t: [Float]
        var centre: Float { (t.first! + t.last!) / 2 }
        var halfWidth: Float { (t.last! - t.first!) / 2 }
        init(lower: Int, upper: Int) { t = (lower...upper).map { Foundation.log(Float($0)) } }

        /// μ = m + c·z and 1/σ = e^{−s}/c.
        @inline(__always)
        func frame(mean z: Float, logStd s: Float) -> (mu: Float, inverseSigma: Float) {
            (centre + halfWidth * z, Foundation.exp(-s) / halfWidth)
        }

        /// The logits l_j = −½u_j² − t_j, u_j = (t_j − μ)/σ: the log-normal density at each value.
        @inline(__always)
        func logits(mean z: Float, logStd s: Float, into l: UnsafeMutablePointer<Float>) {
            let (mu, inverseSigma) = frame(mean: z, logStd: s)
            for j in t.indices {
                let u = (t[j] - mu) * inverseSigma
                l[j] = -0.5 * u * u - t[j]
            }
        }
    }

    // MARK: Batch evaluation and its gradient (PPO's update)

    /// What `evaluate` computes for a batch, and what `backward` needs of it.
    public struct Evaluation: Sendable {
        /// Joint log π(a | s), per row.
        public let logProbs: [Float]
        /// H_h per head, then row.
        public let entropies: [[Float]]
        /// Probabilities (softmax or sigmoid) and log-probabilities of every value, rows of
        /// `space.valueWidth`.
        let probabilities: [Float]
        let logProbabilities: [Float]
        public var rows: Int { logProbs.count }
    }

    /// Joint log-probabilities of `actions` (B × heads) and per-head entropies under `outputs`
    /// (B × outputWidth); `masks` (B × maskWidth, 1 = allowed) is optional.
    public func evaluate(outputs: MatrixView, logStd: UnsafePointer<Float>?, actions: MatrixView, masks: MatrixView?) -> Evaluation {
        precondition(outputs.cols == space.outputWidth && actions.cols == space.count && outputs.rows == actions.rows,
                     "distribution: outputs \(outputs.rows)x\(outputs.cols), actions \(actions.rows)x\(actions.cols)")
        let rows = outputs.rows
        let width = space.valueWidth
        var probabilities = [Float](repeating: 0, count: rows * width)
        var logProbabilities = [Float](repeating: 0, count: rows * width)
        var logProbs = [Float](repeating: 0, count: rows)
        var entropies = [[Float]](repeating: [Float](repeating: 0, count: rows), count: space.count)
        probabilities.withUnsafeMutableBufferPointer { pBuffer in
            logProbabilities.withUnsafeMutableBufferPointer { lpBuffer in
                for r in 0..<rows {
                    let out = outputs.base + r * outputs.rowStride
                    let p = pBuffer.baseAddress! + r * width
                    let lp = lpBuffer.baseAddress! + r * width
                    for (h, head) in space.heads.enumerated() {
                        let o = outputOffsets[h]
                        let v = valueOffsets[h]
                        let a = actions[r, h]
                        let mask = masks.map { $0.base + r * $0.rowStride + maskOffsets[h] }
                        switch head.kind {
                        case .categorical, .discrete:
                            entropies[h][r] = Self.softmax(out + o, count: head.maskWidth, mask: mask, p: p + v, logP: lp + v)
                            logProbs[r] += lp[v + Int(a)]
                        case .discretisedLogNormal:
                            let s = effectiveLogStd(logStd![logStdIndex[h]!]).value
                            logScales[h]!.logits(mean: out[o], logStd: s, into: lp + v)
                            entropies[h][r] = Self.softmax(lp + v, count: head.maskWidth, mask: mask, p: p + v, logP: lp + v)
                            logProbs[r] += lp[v + Int(a)]
                        case .bernoulli:
                            let z = out[o]
                            let sigma = Self.sigmoid(z)
                            p[v] = sigma
                            logProbs[r] += a > 0.5 ? Self.logSigmoid(z) : Self.logSigmoid(-z)
                            entropies[h][r] = -(sigma * Self.logSigmoid(z) + (1 - sigma) * Self.logSigmoid(-z))
                        case .continuous:
                            let s = effectiveLogStd(logStd![logStdIndex[h]!]).value
                            let d = (a - out[o]) * Foundation.exp(-s)
                            logProbs[r] += -0.5 * d * d - s - Self.halfLogTwoPi
                            entropies[h][r] = s + 0.5 + Self.halfLogTwoPi
                        }
                    }
                }
            }
        }
        return Evaluation(logProbs: logProbs, entropies: entropies, probabilities: probabilities, logProbabilities: logProbabilities)
    }

    /// `evaluate` for matrices the caller owns.
    public func evaluate(outputs: MatrixView, logStd: UnsafePointer<Float>?, actions: Matrix, masks: Matrix?) -> Evaluation {
        actions.withView { a in
            masks.map { m in m.withView { evaluate(outputs: outputs, logStd: logStd, actions: a, masks: $0) } }
                ?? evaluate(outputs: outputs, logStd: logStd, actions: a, masks: nil)
        }
    }

    /// Writes ∂L/∂outputs into `outputGradient` (B × outputWidth) and adds ∂L/∂log-std into
    /// `logStdGradient`, given ∂L/∂(joint log p) per row and ∂L/∂(head entropy) per head and row,
    /// for the rows of `evaluation` (of these outputs and actions).
    public func backward(
        _ evaluation: Evaluation, outputs: MatrixView, logStd: UnsafePointer<Float>?, actions: MatrixView,
        logProbGradient: [Float], entropyGradient: [[Float]],
        into outputGradient: MutableMatrixView, logStdGradient: UnsafeMutablePointer<Float>?
    ) {
        let rows = evaluation.rows
        precondition(outputs.rows == rows && outputGradient.rows == rows && outputGradient.cols == space.outputWidth,
                     "distribution backward: shapes differ from the evaluation's")
        let width = space.valueWidth
        let entropies = evaluation.entropies
        evaluation.probabilities.withUnsafeBufferPointer { pBuffer in
            evaluation.logProbabilities.withUnsafeBufferPointer { lpBuffer in
                for r in 0..<rows {
                    let out = outputs.base + r * outputs.rowStride
                    let dOut = outputGradient.base + r * outputGradient.rowStride
                    let p = pBuffer.baseAddress! + r * width
                    let lp = lpBuffer.baseAddress! + r * width
                    let gLogP = logProbGradient[r]
                    for (h, head) in space.heads.enumerated() {
                        let o = outputOffsets[h]
                        let v = valueOffsets[h]
                        let a = Int(actions[r, h])
                        let gH = entropyGradient[h][r]
                        let entropy = entropies[h][r]
                        /// ∂L/∂l_j for a softmax over logits l: log p(a) and entropy terms.
                        func logitGradient(_ j: Int) -> Float {
                            let pj = p[v + j]
                            let entropyTerm = pj > 0 ? -pj * (lp[v + j] + entropy) : 0
                            return gLogP * ((j == a ? 1 : 0) - pj) + gH * entropyTerm
                        }
                        switch head.kind {
                        case .categorical, .discrete:
                            for j in 0..<head.maskWidth { dOut[o + j] = logitGradient(j) }
                        case .discretisedLogNormal:
                            let index = logStdIndex[h]!
                            let (s, clamped) = effectiveLogStd(logStd![index])
                            let scale = logScales[h]!
                            let (mu, inverseSigma) = scale.frame(mean: out[o], logStd: s)
                            var dMean: Float = 0, dLogStd: Float = 0
                            for j in 0..<head.maskWidth {
                                let u = (scale.t[j] - mu) * inverseSigma
                                let g = logitGradient(j)
                                dMean += g * u
                                dLogStd += g * u * u
                            }
                            dOut[o] = dMean * Foundation.exp(-s)
                            if !clamped, let logStdGradient { logStdGradient[index] += dLogStd }
                        case .bernoulli:
                            let sigma = p[v]
                            dOut[o] = gLogP * ((actions[r, h] > 0.5 ? 1 : 0) - sigma) + gH * (-out[o] * sigma * (1 - sigma))
                        case .continuous:
                            let a = actions[r, h]
                            let index = logStdIndex[h]!
                            let (s, clamped) = effectiveLogStd(logStd![index])
                            let inverseVariance = Foundation.exp(-2 * s)
                            let d = a - out[o]
                            dOut[o] = gLogP * d * inverseVariance
                            if !clamped, let logStdGradient {
                                logStdGradient[index] += gLogP * (d * d * inverseVariance - 1) + gH
                            }
                        }
                    }
                }
            }
        }
    }

    // MARK: Acting

    /// Draws an action (stored form) from one output row and returns it with its joint
    /// log-probability. `action` must hold `space.count` values, `scratch` `space.scratchCount`.
    public func sample(
        outputs out: UnsafePointer<Float>, logStd: UnsafePointer<Float>?, mask: UnsafePointer<Float>?,
        into action: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, using rng: inout RandomGenerator
    ) -> Float {
        var picker = SamplingPicker(rng: rng)
        defer { rng = picker.rng }
        return choose(outputs: out, logStd: logStd, mask: mask, into: action, scratch: scratch, picker: &picker)
    }

    /// The most likely action (stored form) of one output row: argmax over allowed entries,
    /// σ(z) > ½, or the mean. Returns its joint log-probability (the density at the mean for
    /// continuous heads).
    public func mode(
        outputs out: UnsafePointer<Float>, logStd: UnsafePointer<Float>?, mask: UnsafePointer<Float>?,
        into action: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
    ) -> Float {
        var picker = ModePicker()
        return choose(outputs: out, logStd: logStd, mask: mask, into: action, scratch: scratch, picker: &picker)
    }

    private func choose<P: ActionPicker>(
        outputs out: UnsafePointer<Float>, logStd: UnsafePointer<Float>?, mask: UnsafePointer<Float>?,
        into action: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, picker: inout P
    ) -> Float {
        var logProb: Float = 0
        for (h, head) in space.heads.enumerated() {
            let o = outputOffsets[h]
            let width = head.maskWidth
            switch head.kind {
            case .categorical, .discrete, .discretisedLogNormal:
                var logits = out + o
                if case .discretisedLogNormal = head.kind {
                    let s = effectiveLogStd(logStd![logStdIndex[h]!]).value
                    logScales[h]!.logits(mean: out[o], logStd: s, into: scratch + width)
                    logits = UnsafePointer(scratch + width)
                }
                Self.softmax(logits, count: width, mask: mask.map { $0 + maskOffsets[h] }, p: scratch, logP: scratch + width)
                let choice = picker.choice(UnsafeBufferPointer(start: scratch, count: width))
                action[h] = Float(choice)
                logProb += scratch[width + choice]
            case .bernoulli:
                let on = picker.isOn(logit: out[o])
                action[h] = on ? 1 : 0
                logProb += Self.logSigmoid(on ? out[o] : -out[o])
            case .continuous:
                let s = effectiveLogStd(logStd![logStdIndex[h]!]).value
                let noise = picker.standardNormal()
                action[h] = out[o] + Foundation.exp(s) * noise
                logProb += -0.5 * noise * noise - s - Self.halfLogTwoPi
            }
        }
        return logProb
    }

    // MARK: Numerics

    /// Masked softmax of `count` logits into `p` and `logP`; returns the entropy. Masked entries
    /// (mask ≤ 0.5) get p = 0 and logP = −∞. At least one entry must be allowed. `logP` may be
    /// the logits' own storage (each entry is read before it is written); `p` may not.
    @discardableResult
    static func softmax(_ z: UnsafePointer<Float>, count: Int, mask: UnsafePointer<Float>?,
                        p: UnsafeMutablePointer<Float>, logP: UnsafeMutablePointer<Float>) -> Float {
        var maximum = -Float.infinity
        for j in 0..<count where mask.map({ $0[j] > 0.5 }) ?? true { maximum = max(maximum, z[j]) }
        precondition(maximum > -.infinity, "action mask allows no choice")
        var sum: Float = 0
        for j in 0..<count {
            if mask.map({ $0[j] > 0.5 }) ?? true {
                let e = Foundation.exp(z[j] - maximum)
                p[j] = e
                sum += e
            } else {
                p[j] = 0
            }
        }
        let logSum = Foundation.log(sum)
        let inverse = 1 / sum
        var entropy: Float = 0
        for j in 0..<count {
            if p[j] > 0 {
                p[j] *= inverse
                logP[j] = (z[j] - maximum) - logSum
                entropy -= p[j] * logP[j]
            } else {
                logP[j] = -.infinity
            }
        }
        return entropy
    }

    @inline(__always)
    static func sigmoid(_ z: Float) -> Float { 1 / (1 + Foundation.exp(-z)) }

    /// log σ(z) without overflow: −log(1 + e^{−z}) = min(z, 0) − log1p(e^{−|z|}).
    @inline(__always)
    static func logSigmoid(_ z: Float) -> Float { min(z, 0) - Foundation.log1p(Foundation.exp(-abs(z))) }
}

/// How `choose` turns each head's distribution into a value: by sampling or by the mode.
private protocol ActionPicker {
    mutating func choice(_ probabilities: UnsafeBufferPointer<Float>) -> Int
    mutating func isOn(logit: Float) -> Bool
    mutating func standardNormal() -> Float
}

private struct SamplingPicker: ActionPicker {
    var rng: RandomGenerator
    mutating func choice(_ probabilities: UnsafeBufferPointer<Float>) -> Int { rng.categorical(probabilities) }
    mutating func isOn(logit: Float) -> Bool { rng.uniformFloat() < MixedDistribution.sigmoid(logit) }
    mutating func standardNormal() -> Float { Float(rng.normal()) }
}

/// The mode: the most probable allowed entry (masked ones have probability 0), σ(z) > ½, the mean.
private struct ModePicker: ActionPicker {
    func choice(_ p: UnsafeBufferPointer<Float>) -> Int {
        var best = -1
        for j in p.indices where p[j] > 0 && (best < 0 || p[j] > p[best]) { best = j }
        return best
    }
    func isOn(logit: Float) -> Bool { logit > 0 }
    func standardNormal() -> Float { 0 }
}
