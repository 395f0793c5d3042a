import Foundation
import Testing
@testable import NumericCore

@Suite struct RandomGeneratorTests {
    @Test func xoshiroMatchesThePublishedAlgorithm() {
        // Reference outputs of xoshiro256** from state {1, 2, 3, 4}.
        var rng = RandomGenerator(state: [1, 2, 3, 4])
        #expect((0..<5).map { _ in rng.next() } == [11520, 0, 1_509_978_240, 1_215_971_899_390_074_240, 1_216_172_134_540_287_360])
    }

    @Test func splitMixMatchesThePublishedAlgorithm() {
        var mixer = SplitMix64(state: 0)
        #expect((0..<3).map { _ in mixer.next() } == [16_294_208_416_658_607_535, 7_960_286_522_194_355_700, 487_617_019_471_545_679])
    }

    @Test func seedingIsPinned() {
        var rng = RandomGenerator(seed: 42)
        #expect(rng.stateWords == [13_679_457_532_755_275_413, 2_949_826_092_126_892_291, 5_139_283_748_462_763_858, 6_349_198_060_258_255_764])
        #expect((0..<3).map { _ in rng.next() } == [1_546_998_764_402_558_742, 6_990_951_692_964_543_102, 12_544_586_762_248_559_009])
    }

    @Test func sameSeedSameStreamsAndSplitsAreIndependent() {
        var a = RandomGenerator(seed: 9)
        var b = RandomGenerator(seed: 9)
        #expect((0..<100).map { _ in a.uniform() } == (0..<100).map { _ in b.uniform() })
        var child = a.split()
        #expect(child != a)
        let fromChild = (0..<50).map { _ in child.next() }
        let fromParent = (0..<50).map { _ in a.next() }
        #expect(Set(fromChild).isDisjoint(with: fromParent))
        let restored = RandomGenerator(state: a.stateWords)
        #expect(restored == a)
    }

    @Test func uniformAndNormalMoments() {
        var rng = RandomGenerator(seed: 3)
        let n = 200_000
        let u = (0..<n).map { _ in rng.uniform() }
        #expect(u.allSatisfy { $0 >= 0 && $0 < 1 })
        let uMean = u.reduce(0, +) / Double(n)
        #expect(abs(uMean - 0.5) < 0.005)  // σ/√n ≈ 0.00065
        let z = (0..<n).map { _ in rng.normal() }
        let mean = z.reduce(0, +) / Double(n)
        let variance = z.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n - 1)
        #expect(abs(mean) < 0.01)
        #expect(abs(variance - 1) < 0.02)
        #expect((0..<1000).allSatisfy { _ in rng.uniformFloat() < 1 })
    }

    @Test func boundedIsUnbiasedAndInRange() {
        var rng = RandomGenerator(seed: 4)
        var counts = [Int](repeating: 0, count: 6)
        for _ in 0..<60_000 { counts[rng.bounded(6)] += 1 }
        // Expected 10,000 each, sd ≈ 91: a chi-square with 5 d.o.f. far below 30 for a fair die.
        let chi2 = counts.reduce(0.0) { $0 + pow(Double($1) - 10_000, 2) / 10_000 }
        #expect(chi2 < 30, "counts \(counts)")
    }

    /// 7 buckets × 70,000 draws: every bucket within 4 standard deviations of 10,000, and an odd
    /// count fills the last slot too.
    @Test func fillBoundedIsUniformAndInRange() {
        var rng = RandomGenerator(seed: 9)
        var buffer = [UInt32](repeating: .max, count: 70_001)
        buffer.withUnsafeMutableBufferPointer { rng.fillBounded($0, bound: 7) }
        #expect(buffer.allSatisfy { $0 < 7 })
        var counts = [Int](repeating: 0, count: 7)
        for x in buffer.prefix(70_000) { counts[Int(x)] += 1 }
        let sd = (70_000.0 * (1.0 / 7) * (6.0 / 7)).squareRoot()
        #expect(counts.allSatisfy { abs(Double($0) - 10_000) < 4 * sd }, "\(counts)")
        var again = RandomGenerator(seed: 9)
        var copy = [UInt32](repeating: 0, count: 70_001)
        copy.withUnsafeMutableBufferPointer { again.fillBounded($0, bound: 7) }
        #expect(copy == buffer)
    }

    @Test func categoricalFollowsWeightsAndSkipsZeros() {
        var rng = RandomGenerator(seed: 8)
        var counts = [0, 0, 0, 0]
        let weights: [Float] = [0.1, 0, 0.6, 0.3]
        for _ in 0..<50_000 { counts[rng.categorical(weights)] += 1 }
        #expect(counts[1] == 0)
        #expect(abs(Double(counts[2]) / 50_000 - 0.6) < 0.01)
        #expect(abs(Double(counts[0]) / 50_000 - 0.1) < 0.01)
    }

    @Test func shuffleIsAPermutationAndDeterministic() {
        var a = RandomGenerator(seed: 12)
        var b = RandomGenerator(seed: 12)
        let p = a.permutation(100)
        #expect(p.sorted() == Array(0..<100))
        #expect(p != Array(0..<100))
        #expect(p == b.permutation(100))
    }
}
