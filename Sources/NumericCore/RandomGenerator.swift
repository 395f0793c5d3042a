import Foundation

/// xoshiro256** (Blackman & Vigna, "Scrambled linear pseudorandom number generators", 2021),
/// seeded through SplitMix64 as its authors recommend.
///
/// Every derived sample (uniforms, bounded integers, shuffles, categorical draws) is computed
/// here from the 64-bit stream with integer arithmetic or exactly-rounded scaling, so a seed gives
/// the same values on every run and machine. Normal samples go through the C library's `log` and
/// `cos`, identical wherever the same libm is used.
public struct RandomGenerator: RandomNumberGenerator, Sendable, Equatable {
    /// The four state words; store them to resume a stream exactly (checkpoints do).
    public private(set) var state: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var mixer = SplitMix64(state: seed)
        state = (mixer.next(), mixer.next(), mixer.next(), mixer.next())
    }

    /// Restores a generator from saved state words; the all-zero state is invalid for xoshiro.
    public init(state words: [UInt64]) {
        precondition(words.count == 4, "RandomGenerator state has 4 words, got \(words.count)")
        precondition(words.contains { $0 != 0 }, "RandomGenerator state must not be all zero")
        state = (words[0], words[1], words[2], words[3])
    }

    public var stateWords: [UInt64] { [state.0, state.1, state.2, state.3] }

    public static func == (lhs: RandomGenerator, rhs: RandomGenerator) -> Bool {
        lhs.stateWords == rhs.stateWords
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = rotateLeft(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotateLeft(state.3, 45)
        return result
    }

    /// A new, independent generator for a sub-task (one per environment, the shuffler, the
    /// initialiser…), seeded from this stream so the whole tree follows from one seed.
    public mutating func split() -> RandomGenerator {
        RandomGenerator(seed: next())
    }

    /// Uniform in [0, 1) with 24 random bits (every representable step of a Float in [0.5, 1)).
    @inline(__always)
    public mutating func uniformFloat() -> Float {
        Float(next() >> 40) * 0x1p-24
    }

    /// Uniform in [0, 1) with 53 random bits.
    @inline(__always)
    public mutating func uniform() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// Uniform in [lower, upper).
    public mutating func uniform(in range: Range<Double>) -> Double {
        range.lowerBound + (range.upperBound - range.lowerBound) * uniform()
    }

    /// Uniform integer in [0, bound) without modulo bias (Lemire, "Fast random integer
    /// generation in an interval", 2019).
    public mutating func bounded(_ bound: Int) -> Int {
        precondition(bound > 0, "bounded(_:) needs a positive bound, got \(bound)")
        let range = UInt64(bound)
        var product = next().multipliedFullWidth(by: range)
        if product.low < range {
            let threshold = (0 &- range) % range
            while product.low < threshold {
                product = next().multipliedFullWidth(by: range)
            }
        }
        return Int(product.high)
    }

    /// Fills `buffer` with uniform integers in [0, bound), two per generator output (Lemire's
    /// multiply-shift on each 32-bit half, with its rejection step, so still without bias). The
    /// bootstrap draws millions of indices this way.
    public mutating func fillBounded(_ buffer: UnsafeMutableBufferPointer<UInt32>, bound: UInt32) {
        precondition(bound > 0, "fillBounded needs a positive bound")
        let range = UInt64(bound)
        let threshold = (0 &- bound) % bound  // 2³² mod bound
        @inline(__always) func draw(_ half: UInt32, _ generator: inout RandomGenerator) -> UInt32 {
            var product = UInt64(half) &* range
            while UInt32(truncatingIfNeeded: product) < threshold {
                product = UInt64(UInt32(truncatingIfNeeded: generator.next())) &* range
            }
            return UInt32(truncatingIfNeeded: product >> 32)
        }
        var i = 0
        while i + 1 < buffer.count {
            let word = next()
            buffer[i] = draw(UInt32(truncatingIfNeeded: word), &self)
            buffer[i + 1] = draw(UInt32(truncatingIfNeeded: word >> 32), &self)
            i += 2
        }
        if i < buffer.count { buffer[i] = draw(UInt32(truncatingIfNeeded: next()), &self) }
    }

    /// Standard normal by the Box–Muller transform (one of the pair is used).
    public mutating func normal() -> Double {
        let u1 = 1 - uniform()  // (0, 1]: log stays finite
        let u2 = uniform()
        return (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
    }

    public mutating func normal(mean: Double, standardDeviation: Double) -> Double {
        mean + standardDeviation * normal()
    }

    /// Fills `buffer` with standard normal Floats.
    public mutating func fillNormal(_ buffer: UnsafeMutableBufferPointer<Float>, standardDeviation: Float = 1) {
        for i in buffer.indices { buffer[i] = Float(normal()) * standardDeviation }
    }

    /// An index drawn with probability proportional to `weights` (non-negative, not all zero).
    @inlinable  // specialised at the call site: the generic form costs microseconds per draw
    public mutating func categorical<C: Collection>(_ weights: C) -> Int where C.Element: BinaryFloatingPoint {
        var total = 0.0
        for w in weights {
            precondition(w >= 0 && w.isFinite, "categorical: weight \(w) is negative or not finite")
            total += Double(w)
        }
        precondition(total > 0, "categorical: weights sum to zero")
        let target = uniform() * total
        var cumulative = 0.0
        var index = 0
        var lastPositive = 0
        for w in weights {
            cumulative += Double(w)
            if w > 0 { lastPositive = index }
            if target < cumulative { return index }
            index += 1
        }
        return lastPositive  // rounding left target ≥ total: the last index that can be drawn
    }

    /// Fisher–Yates shuffle with unbiased bounded draws.
    public mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            array.swapAt(i, bounded(i + 1))
        }
    }

    /// A random permutation of 0..<count.
    public mutating func permutation(_ count: Int) -> [Int] {
        var indices = Array(0..<count)
        shuffle(&indices)
        return indices
    }

    @inline(__always)
    private func rotateLeft(_ x: UInt64, _ k: UInt64) -> UInt64 {
        (x << k) | (x >> (64 - k))
    }
}

/// SplitMix64 (Steele, Lea & Flood 2014): expands a 64-bit seed into well-mixed state words.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(state: UInt64) { self.state = state }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
