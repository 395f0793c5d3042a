import NumericCore
import Statistics
import Testing

/// The two-way response model on data drawn from it: question levels that dwarf the
/// configurations' effects, additive knob effects, one configuration the knobs do not explain.
struct ResponseModelTests {
    /// Twelve configurations: knob A (4 values) × knob B (3 values), features A, B and A&B.
    static func features() -> (rows: [[Int]], count: Int) {
        var rows: [[Int]] = []
        for a in 0..<4 { for b in 0..<3 { rows.append([a, 4 + b, 7 + a * 3 + b]) } }
        return (rows, 19)
    }

    static func truth(_ c: Int) -> Double {
        let a = c / 3, b = c % 3
        // Configuration 5 (A 1, B 2) is 0.3 above what its knobs say.
        return [0, 0.1, 0.2, 0.15][a] + [0, -0.05, 0.05][b] + (c == 5 ? 0.3 : 0)
    }

    /// Configuration c answered on the first counts[c] questions of one order.
    static func observe(_ counts: [Int], seed: UInt64) -> [[Double]] {
        var rng = RandomGenerator(seed: seed)
        let levels = (0..<(counts.max() ?? 0)).map { _ in 2 * rng.normal() }
        return counts.enumerated().map { c, n in (0..<n).map { levels[$0] + truth(c) + 0.3 * rng.normal() } }
    }

    /// The questions of `observe`'s answers: each configuration's prefix of the order.
    static func prefixes(_ counts: [Int]) -> [[Int]] { counts.map { Array(0..<$0) } }

    @Test func effectsAreRecoveredFromPairedQuestions() throws {
        let (rows, count) = Self.features()
        let model = ResponseModel(features: rows, featureCount: count)
        var counts = [Int](repeating: 400, count: 12)
        counts[11] = 3
        let fit = try model.fit(Self.observe(counts, seed: 1), questions: Self.prefixes(counts))
        // Questions' levels (sd 2) cancel: differences between configurations are within a few
        // hundredths, where unpaired means on 400 questions would be off by ±0.14.
        for c in 1..<11 {
            #expect(abs((fit.effects[c] - fit.effects[0]) - (Self.truth(c) - Self.truth(0))) < 0.05, "configuration \(c)")
        }
        // The configuration its knobs do not explain keeps its own effect on 400 questions.
        #expect(abs((fit.effects[5] - fit.effects[0]) - 0.45) < 0.05)
        // On three questions, configuration 11 leans on its knobs and is less certain.
        #expect(abs((fit.effects[11] - fit.effects[0]) - (Self.truth(11) - Self.truth(0))) < 0.15)
        #expect(fit.standardErrors[11] > 3 * fit.standardErrors[0])
        // Unshrunk, a configuration answered on every question is exactly its own mean.
        let observed = Self.observe(counts, seed: 1)
        let levels = fit.questionLevels.reduce(0, +) / Double(fit.questionLevels.count)
        #expect(abs(levels + fit.ownEffects[5] - observed[5].reduce(0, +) / 400) < 1e-9)
        #expect(abs(fit.residualVariance - 0.09) < 0.02)
    }

    /// Configurations answered on different questions: each on its own block of 50, and
    /// configurations 0 and 5 (the one its knobs do not explain) on all 200, through which the
    /// blocks' question levels are tied together.
    @Test func configurationsOnDifferentQuestionsAreComparedThroughTheQuestionsTheyShare() throws {
        let (rows, count) = Self.features()
        var rng = RandomGenerator(seed: 3)
        // Blocks of questions a whole level apart: unpaired, their configurations' means would differ by up to 3.
        let levels = (0..<200).map { [-1.0, 0, 1, 2][$0 / 50] + 2 * rng.normal() }
        let asked = (0..<12).map { c in c == 0 || c == 5 ? Array(0..<200) : Array((c % 4) * 50..<(c % 4) * 50 + 50) }
        let observed = asked.enumerated().map { c, questions in questions.map { levels[$0] + Self.truth(c) + 0.3 * rng.normal() } }
        let fit = try ResponseModel(features: rows, featureCount: count).fit(observed, questions: asked)
        #expect(fit.questionLevels.count == 200)
        // Each configuration's own difference from the levels (what a choice is judged by) is its
        // true difference within 0.15: a few standard errors of its 50 answers (0.3 / √50), and
        // the levels of a block, which four configurations answer, take a share of their shrunk
        // effects' errors.
        for c in 1..<12 {
            #expect(abs((fit.ownEffects[c] - fit.ownEffects[0]) - (Self.truth(c) - Self.truth(0))) < 0.15, "configuration \(c)")
        }
    }

    @Test func aConfigurationNeverAnsweredIsPredictedFromItsKnobs() throws {
        let (rows, count) = Self.features()
        var counts = [Int](repeating: 200, count: 12)
        // A 3 with B 1 never answered: A 3 and B 1 are each seen with the other values.
        counts[10] = 0
        let fit = try ResponseModel(features: rows, featureCount: count).fit(Self.observe(counts, seed: 2), questions: Self.prefixes(counts))
        #expect(abs((fit.effects[10] - fit.effects[0]) - (Self.truth(10) - Self.truth(0))) < 0.06)
        #expect(fit.standardErrors[10] > fit.standardErrors[0])
        #expect(fit.questionLevels.count == 200)
    }
}
