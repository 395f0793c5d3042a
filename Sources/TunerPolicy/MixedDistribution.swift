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
public final class MixedDistribution {
    public let space: ActionSpace
    public let logStdRange: ClosedRange<Float>
    private let outputOffsets: [Int]
    private let maskOffsets: [Int]
    private let continuousIndex: [Int?]

    /// Per-row probabilities (softmax or sigmoid) and log-probabilities of every output from the
    /// last `evaluate`, kept for `backward`.
    private var probabilities: [Float] = []
    private var logProbabilities: [Float] = []
    public private(set) var entropies: [[Float]] = []
    public private(set) var logProbs: [Float] = []
    private var rows = 0

    static let halfLogTwoPi = Float(0.5 * Foundation.log(2 * Double.pi))

    public init(space: ActionSpace, logStdRange: ClosedRange<Float> = -5...2) {
        self.space = space
        self.logStdRange = logStdRange
        outputOffsets = space.outputOffsets
        maskOffsets = space.maskOffsets
        var next = 0
        continuousIndex = space.heads.map { head in
            if case .continuous = head.kind { defer { next += 1 }; return next }
            return nil
        }
    }

    /// The log-std actually used for continuous head `index` and whether it was clamped.
    @inline(__always)
    func effectiveLogStd(_ raw: Float) -> (value: Float, clamped: Bool) {
        if raw < logStdRange.lowerBound { return (logStdRange.lowerBound, true) }
        if raw > logStdRange.upperBound { return (logStdRange.upperBound, true) }
        return (raw, false)
    }

    // MARK: Batch evaluation and its gradient (PPO's update)

    /// Joint log-probabilities of `actions` (B × heads) and per-head entropies under `outputs`
    /// (B × outputWidth); `masks` (B × maskWidth, 1 = allowed) is optional.
    public func evaluate(outputs: MatrixView, logStd: UnsafePointer<Float>?, actions: MatrixView, masks: MatrixView?) {
        precondition(outputs.cols == space.outputWidth && actions.cols == space.count && outputs.rows == actions.rows,
                     "distribution: outputs \(outputs.rows)x\(outputs.cols), actions \(actions.rows)x\(actions.cols)")
        rows = outputs.rows
        let width = space.outputWidth
        if probabilities.count < rows * width {
            probabilities = [Float](repeating: 0, count: rows * width)
            logProbabilities = [Float](repeating: 0, count: rows * width)
        }
        logProbs = [Float](repeating: 0, count: rows)
        entropies = [[Float]](repeating: [Float](repeating: 0, count: rows), count: space.count)
        probabilities.withUnsafeMutableBufferPointer { pBuffer in
            logProbabilities.withUnsafeMutableBufferPointer { lpBuffer in
                for r in 0..<rows {
                    let out = outputs.base + r * outputs.rowStride
                    let p = pBuffer.baseAddress! + r * width
                    let lp = lpBuffer.baseAddress! + r * width
                    for (h, head) in space.heads.enumerated() {
                        let o = outputOffsets[h]
                        let a = actions[r, h]
                        switch head.kind {
                        case .categorical, .discrete:
                            let mask = masks.map { $0.base + r * $0.rowStride + maskOffsets[h] }
                            let entropy = Self.softmax(out + o, count: head.outputWidth, mask: mask, p: p + o, logP: lp + o)
                            logProbs[r] += lp[o + Int(a)]
                            entropies[h][r] = entropy
                        case .bernoulli:
                            let z = out[o]
                            let sigma = Self.sigmoid(z)
                            p[o] = sigma
                            logProbs[r] += a > 0.5 ? Self.logSigmoid(z) : Self.logSigmoid(-z)
                            entropies[h][r] = -(sigma * Self.logSigmoid(z) + (1 - sigma) * Self.logSigmoid(-z))
                        case .continuous:
                            let s = effectiveLogStd(logStd![continuousIndex[h]!]).value
                            let d = (a - out[o]) * Foundation.exp(-s)
                            logProbs[r] += -0.5 * d * d - s - Self.halfLogTwoPi
                            entropies[h][r] = s + 0.5 + Self.halfLogTwoPi
                        }
                    }
                }
            }
        }
    }

    /// Writes ∂L/∂outputs into `outputGradient` (B × outputWidth) and adds ∂L/∂log-std into
    /// `logStdGradient`, given ∂L/∂(joint log p) per row and ∂L/∂(head entropy) per head and row,
    /// for the rows of the last `evaluate`.
    public func backward(
        outputs: MatrixView, logStd: UnsafePointer<Float>?, actions: MatrixView,
        logProbGradient: [Float], entropyGradient: [[Float]],
        into outputGradient: MutableMatrixView, logStdGradient: UnsafeMutablePointer<Float>?
    ) {
        precondition(outputs.rows == rows && outputGradient.rows == rows && outputGradient.cols == space.outputWidth,
                     "distribution backward: shapes differ from the last evaluate")
        let width = space.outputWidth
        probabilities.withUnsafeBufferPointer { pBuffer in
            logProbabilities.withUnsafeBufferPointer { lpBuffer in
                for r in 0..<rows {
                    let out = outputs.base + r * outputs.rowStride
                    let dOut = outputGradient.base + r * outputGradient.rowStride
                    let p = pBuffer.baseAddress! + r * width
                    let lp = lpBuffer.baseAddress! + r * width
                    let gLogP = logProbGradient[r]
                    for (h, head) in space.heads.enumerated() {
                        let o = outputOffsets[h]
                        let a = actions[r, h]
                        let gH = entropyGradient[h][r]
                        switch head.kind {
                        case .categorical, .discrete:
                            let entropy = entropies[h][r]
                            for j in 0..<head.outputWidth {
                                let pj = p[o + j]
                                let entropyTerm = pj > 0 ? -pj * (lp[o + j] + entropy) : 0
                                dOut[o + j] = gLogP * ((j == Int(a) ? 1 : 0) - pj) + gH * entropyTerm
                            }
                        case .bernoulli:
                            let sigma = p[o]
                            dOut[o] = gLogP * ((a > 0.5 ? 1 : 0) - sigma) + gH * (-out[o] * sigma * (1 - sigma))
                        case .continuous:
                            let index = continuousIndex[h]!
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
    /// log-probability. `action` must hold `space.count` values, `scratch` 2 × outputWidth.
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
            switch head.kind {
            case .categorical, .discrete:
                let width = head.outputWidth
                Self.softmax(out + o, count: width, mask: mask.map { $0 + maskOffsets[h] }, p: scratch, logP: scratch + width)
                let choice = picker.choice(UnsafeBufferPointer(start: scratch, count: width))
                action[h] = Float(choice)
                logProb += scratch[width + choice]
            case .bernoulli:
                let on = picker.isOn(logit: out[o])
                action[h] = on ? 1 : 0
                logProb += Self.logSigmoid(on ? out[o] : -out[o])
            case .continuous:
                let s = effectiveLogStd(logStd![continuousIndex[h]!]).value
                let noise = picker.standardNormal()
                action[h] = out[o] + Foundation.exp(s) * noise
                logProb += -0.5 * noise * noise - s - Self.halfLogTwoPi
            }
        }
        return logProb
    }

    // MARK: Numerics

    /// Masked softmax of `count` logits into `p` and `logP`; returns the entropy. Masked entries
    /// (mask ≤ 0.5) get p = 0 and logP = −∞. At least one entry must be allowed.
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
