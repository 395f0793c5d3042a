import Foundation
import NumericCore
import Statistics
import Testing

/// Statistics against reference values computed by tools/statistics_fixtures.py with SciPy and
/// statsmodels (Tests/StatisticsTests/Fixtures/statistics.json), and against published tables.
@Suite struct StatisticsTests {
    nonisolated(unsafe) static let fixture: [String: Any] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/statistics.json")
        return try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }()

    static func close(_ a: Double, _ b: Double, relative: Double) -> Bool { abs(a - b) <= relative * max(abs(b), 1e-300) }

    @Test func normalQuantileAndCDFMatchSciPy() {
        let normal = Self.fixture["normal"] as! [String: [Double]]
        for (p, q) in zip(normal["p"]!, normal["quantile"]!) {
            #expect(Self.close(NormalDistribution.quantile(p), q, relative: 1e-12), "ndtri(\(p))")
        }
        for (x, c) in zip(normal["x"]!, normal["cdf"]!) {
            #expect(Self.close(NormalDistribution.cdf(x), c, relative: 1e-12), "ndtr(\(x))")
        }
    }

    @Test func chiSquareTailAndSampleRatioMismatchMatchSciPy() {
        for row in Self.fixture["chi_square"] as! [[String: Double]] {
            #expect(Self.close(ChiSquareDistribution.survival(row["x"]!, degreesOfFreedom: row["df"]!), row["survival"]!, relative: 1e-9))
        }
        for row in Self.fixture["sample_ratio_mismatch"] as! [[String: Any]] {
            let srm = SampleRatioMismatch(observed: row["observed"] as! [Int], expectedShares: row["shares"] as! [Double])
            #expect(Self.close(srm.chiSquare, row["chi_square"] as! Double, relative: 1e-9))
            #expect(Self.close(srm.pValue, row["p_value"] as! Double, relative: 1e-8))
        }
        #expect(SampleRatioMismatch(observed: [9400, 600], expectedShares: [0.95, 0.05]).mismatch)
        #expect(!SampleRatioMismatch(observed: [5000, 5040], expectedShares: [0.5, 0.5]).mismatch)
    }

    /// Deterministic parts to 1e-10; the intervals themselves are Monte-Carlo estimates (two
    /// independent sets of 10,000 resamples) and must agree with SciPy's within 0.15 bootstrap
    /// standard errors — about four times the standard deviation of the difference between two
    /// such estimates of a 2.5% / 97.5% quantile.
    @Test(arguments: ["skewed", "paired"])
    func bootstrapIntervalsMatchSciPy(sample: String) {
        let data = (Self.fixture["bootstrap"] as! [String: Any])[sample] as! [String: Any]
        let bootstrap = Bootstrap(resamples: 10_000, level: 0.95, seed: 11)
        let values: [Double]
        if sample == "paired" {
            let t = data["treatment"] as! [Double]
            let c = data["control"] as! [Double]
            values = zip(t, c).map { $0 - $1 }
            #expect(Self.close(bootstrap.pairedDifference(t, c).estimate, data["mean_difference"] as! Double, relative: 1e-12))
        } else {
            values = data["values"] as! [Double]
        }
        #expect(Self.close(Bootstrap.jackknifeAcceleration(values), data["acceleration"] as! Double, relative: 1e-9))
        for method in Bootstrap.Method.allCases {
            let reference = data[method == .bca ? "bca" : "percentile"] as! [String: Double]
            let ours = bootstrap.mean(values, method: method)
            let se = reference["standard_error"]!
            #expect(abs(ours.standardError - se) < 0.05 * se)
            #expect(abs(ours.lower - reference["lower"]!) < 0.15 * se, "\(sample) \(method) lower \(ours.lower) vs \(reference["lower"]!)")
            #expect(abs(ours.upper - reference["upper"]!) < 0.15 * se, "\(sample) \(method) upper \(ours.upper) vs \(reference["upper"]!)")
        }
        // BCa shifts a right-skewed sample's interval to the right of the percentile interval.
        if sample == "skewed" {
            #expect(bootstrap.mean(values, method: .bca).upper > bootstrap.mean(values, method: .percentile).upper)
        }
        #expect(bootstrap.mean(values) == bootstrap.mean(values), "seeded: the same interval every time")
    }

    /// gsDesign's tables (one-sided α = 0.025, four equally spaced looks) to 1e-3, and the
    /// boundaries SciPy's multivariate normal integration gives, also for uneven looks.
    @Test func groupSequentialBoundariesReproducePublishedValues() {
        let reference = Self.fixture["group_sequential"] as! [String: Any]
        let t = GroupSequentialDesign.equallySpaced(4)
        let spending = GroupSequentialDesign.spending(.obrienFleming, alpha: 0.025, informationFractions: t)
        let classical = GroupSequentialDesign.classicalOBrienFleming(alpha: 0.025, informationFractions: t)
        let pocock = GroupSequentialDesign.spending(.pocock, alpha: 0.025, informationFractions: t)
        for (ours, published) in zip(spending.boundaries, [4.333, 2.963, 2.359, 2.014]) { #expect(abs(ours - published) < 1e-3) }
        for (ours, published) in zip(classical.boundaries, [4.049, 2.863, 2.337, 2.024]) { #expect(abs(ours - published) < 1e-3) }
        func agree(_ ours: [Double], _ key: String) {
            for (a, b) in zip(ours, reference[key] as! [Double]) { #expect(abs(a - b) < 5e-4, "\(key): \(ours)") }
        }
        agree(spending.boundaries, "obrien_fleming_spending")
        agree(classical.boundaries, "classical_obrien_fleming")
        agree(pocock.boundaries, "pocock_spending")
        let uneven = GroupSequentialDesign.spending(.obrienFleming, alpha: 0.025, informationFractions: reference["uneven_fractions"] as! [Double])
        agree(uneven.boundaries, "obrien_fleming_spending_uneven")
        #expect(abs(spending.crossingProbabilities.reduce(0, +) - 0.025) < 1e-6)
    }

    @Test func powerAndMinimumDetectableEffectMatchStatsmodels() {
        for row in Self.fixture["power"] as! [[String: Double]] {
            let pairs = PowerAnalysis.pairsNeeded(difference: row["effect_size"]!, standardDeviation: 1, alpha: row["alpha"]!, power: row["power"]!)
            #expect(Self.close(pairs, row["pairs"]!, relative: 1e-6))
        }
        for row in Self.fixture["power_function"] as! [[String: Double]] {
            #expect(Self.close(PowerAnalysis.power(effectSize: row["effect_size"]!, pairs: row["pairs"]!, alpha: row["alpha"]!), row["power"]!, relative: 1e-12))
        }
        // statsmodels' solve_power stops early for effect sizes (its own power at its answer is
        // off by up to 3e-5); ours solves to 1e-13, so the comparison is at 1e-4.
        for row in Self.fixture["minimum_detectable_effect"] as! [[String: Double]] {
            let effect = PowerAnalysis.minimumDetectableEffect(pairs: row["pairs"]!, standardDeviation: 1, alpha: row["alpha"]!, power: row["power"]!)
            #expect(Self.close(effect, row["effect_size"]!, relative: 1e-4))
            #expect(abs(PowerAnalysis.power(effectSize: effect, pairs: row["pairs"]!, alpha: row["alpha"]!) - row["power"]!) < 1e-10)
        }
        // Δ = +0.03 with σ_d = 0.2 is the fixture's first row: effect size 0.15.
        #expect(Self.close(PowerAnalysis.pairsNeeded(difference: 0.03, standardDeviation: 0.2), (Self.fixture["power"] as! [[String: Double]])[0]["pairs"]!, relative: 1e-6))
    }

    /// 2,000 A/A experiments, 20 looks of 25 paired differences each: peeking must not inflate
    /// the false-positive rate of the group-sequential design (one-sided α = 0.025) or of the
    /// mixture SPRT (two-sided α = 0.05) beyond simulation error (3 standard errors), while
    /// naive repeated testing at z ≥ 1.96 does exceed its nominal 0.025.
    @Test func peekingDoesNotInflateFalsePositives() {
        let experiments = 2_000
        let looks = 20
        let batch = 25
        let design = GroupSequentialDesign.spending(.obrienFleming, alpha: 0.025, informationFractions: GroupSequentialDesign.equallySpaced(looks))
        var rng = RandomGenerator(seed: 2026)
        var sequential = 0, mixture = 0, naive = 0
        for _ in 0..<experiments {
            var sum = 0.0, squares = 0.0, n = 0
            var test = MixtureSPRT(alpha: 0.05)
            var rejected = (sequential: false, mixture: false, naive: false)
            for look in 0..<looks {
                for _ in 0..<batch {
                    let x = rng.normal()
                    sum += x
                    squares += x * x
                    n += 1
                }
                let mean = sum / Double(n)
                let variance = (squares - Double(n) * mean * mean) / Double(n - 1)
                let z = mean / (variance / Double(n)).squareRoot()
                if z >= design.boundaries[look] { rejected.sequential = true }
                if test.observe(n: n, mean: mean, variance: variance) { rejected.mixture = true }
                if z >= 1.96 { rejected.naive = true }
            }
            sequential += rejected.sequential ? 1 : 0
            mixture += rejected.mixture ? 1 : 0
            naive += rejected.naive ? 1 : 0
        }
        func rate(_ count: Int) -> Double { Double(count) / Double(experiments) }
        func bound(_ alpha: Double) -> Double { alpha + 3 * (alpha * (1 - alpha) / Double(experiments)).squareRoot() }
        print("A/A false-positive rates over \(experiments) × \(looks) looks: group-sequential \(rate(sequential)), mSPRT \(rate(mixture)), naive \(rate(naive))")
        #expect(rate(sequential) <= bound(0.025))
        #expect(rate(mixture) <= bound(0.05))
        #expect(rate(naive) > bound(0.025))
    }
}

@Suite struct OffPolicyEvaluationTests {
    static var data: [String: Any] { StatisticsTests.fixture["off_policy"] as! [String: Any] }

    static func evaluation() throws -> OffPolicyEvaluation {
        let d = data
        return try OffPolicyEvaluation(
            rewards: d["rewards"] as! [Double], loggingPropensities: (d["propensities"] as! [Double]).map { Optional($0) },
            targetProbabilities: d["target"] as! [Double],
            predictedLogged: d["predicted_logged"] as? [Double], predictedTarget: d["predicted_target"] as? [Double])
    }

    @Test func estimatorsMatchTheTextbookFormulas() throws {
        let ope = try Self.evaluation()
        let bootstrap = Bootstrap(resamples: 2_000, seed: 3)
        for estimator in OffPolicyEvaluation.Estimator.allCases {
            let e = try ope.estimate(estimator, switchThreshold: Self.data["switch_threshold"] as! Double, bootstrap: bootstrap)
            #expect(abs(e.value - (Self.data[estimator.rawValue] as! Double)) < 1e-10, "\(estimator)")
            #expect(e.interval.lower < e.value && e.value < e.interval.upper, "\(estimator) interval brackets the estimate")
        }
        #expect(abs(ope.effectiveSampleSize - (Self.data["effective_sample_size"] as! Double)) < 1e-8)
    }

    @Test func badPropensitiesAreRefusedByRowAndSmallESSWarns() throws {
        #expect(throws: OffPolicyEvaluation.Failure.missingPropensity(row: 2)) {
            try OffPolicyEvaluation(rewards: [1, 0, 1], loggingPropensities: [0.5, nil, 0.2], targetProbabilities: [0.1, 0.2, 0.3])
        }
        #expect(throws: OffPolicyEvaluation.Failure.invalidPropensity(row: 3, value: 0)) {
            try OffPolicyEvaluation(rewards: [1, 0, 1], loggingPropensities: [0.5, 0.4, 0], targetProbabilities: [0.1, 0.2, 0.3])
        }
        #expect(throws: OffPolicyEvaluation.Failure.invalidValue(row: 1, field: "reward", value: .infinity)) {
            try OffPolicyEvaluation(rewards: [.infinity, 0], loggingPropensities: [0.5, 0.4], targetProbabilities: [0.1, 0.2])
        }
        // One row carries almost all the weight.
        let skewed = try OffPolicyEvaluation(
            rewards: (0..<200).map { Double($0 % 2) }, loggingPropensities: (0..<200).map { $0 == 0 ? 0.001 : 0.5 },
            targetProbabilities: (0..<200).map { _ in 0.5 })
        #expect(try skewed.estimate(.ips, bootstrap: Bootstrap(resamples: 500)).warning != nil)
        #expect(try Self.evaluation().estimate(.ips, bootstrap: Bootstrap(resamples: 500)).warning == nil)
        #expect(throws: OffPolicyEvaluation.Failure.noModel(.dr)) { try skewed.estimate(.dr) }
    }

    @Test func ridgeRegressionMatchesNumPy() throws {
        let ridge = StatisticsTests.fixture["ridge"] as! [String: Any]
        let beta = try LinearAlgebra.ridgeRegression(ridge["rows"] as! [[Double]], ridge["targets"] as! [Double], lambda: ridge["lambda"] as! Double)
        for (a, b) in zip(beta, ridge["coefficients"] as! [Double]) { #expect(abs(a - b) < 1e-10) }
    }
}

/// A gate judged on a sample weighs its threshold by the evidence: a mean right at a floor is a
/// coin toss, 2.5 standard errors above it nearly safe; a 95th percentile is crossed as surely as
/// the share of values above the ceiling exceeds 5%.
@Suite struct ThresholdEvidenceTests {
    @Test func aMeanNearItsFloorIsWeighedInStandardErrors() {
        let sample = (0..<100).map { $0 % 2 == 0 ? 0.3 : 0.7 }  // mean 0.5, standard error 0.0201
        #expect(abs(ThresholdEvidence.meanBelow(0.5, estimate: 0.5, sample: sample) - 0.5) < 1e-12)
        #expect(abs(ThresholdEvidence.meanBelow(0.45, estimate: 0.5, sample: sample) - 0.006432790647278044) < 1e-12)
        #expect(abs(ThresholdEvidence.meanBelow(0.55, estimate: 0.5, sample: sample) - (1 - 0.006432790647278044)) < 1e-12)
        // No spread, or one value: the estimate decides.
        #expect(ThresholdEvidence.meanBelow(0.7, estimate: 0.6, sample: [0.6, 0.6]) == 1)
        #expect(ThresholdEvidence.meanBelow(0.5, estimate: 0.6, sample: [0.6]) == 0)
    }

    @Test func aQuantileIsCrossedAsTheShareAboveTheCeilingSays() {
        func latencies(above: Int, of n: Int) -> [Double] { (0..<n).map { $0 < above ? 600 : 300 } }
        #expect(abs(ThresholdEvidence.quantileAbove(500, quantile: 0.95, sample: latencies(above: 5, of: 100)) - 0.5) < 1e-12)
        #expect(abs(ThresholdEvidence.quantileAbove(500, quantile: 0.95, sample: latencies(above: 10, of: 100)) - 0.9891092686044403) < 1e-12)
        #expect(ThresholdEvidence.quantileAbove(500, quantile: 0.95, sample: latencies(above: 0, of: 400)) < 1e-5)
    }
}
