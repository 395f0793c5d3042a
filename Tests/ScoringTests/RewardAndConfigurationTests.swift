import ConfigurationFiles
import Foundation
import NumericCore
import Scoring
import Testing

@Suite struct RewardAndConfigurationTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let variants = ["bm25", "dense", "hybrid", "rrf"]
    static let templates = ["ranked", "truncated", "budgeted", "sandwich"]

    /// The shipped file's `knobs:` section (its line 1 is the file's `knobs:` line) with one change.
    static func pipeline(_ text: String, _ replacement: String) -> String {
        let shipped = try! String(contentsOf: repository.appendingPathComponent("configs/rl/policy.defaults.yaml"), encoding: .utf8)
        let knobs = String(shipped[shipped.range(of: "\nknobs:\n")!.upperBound...])
        precondition(knobs.contains(text), "the shipped knobs have no '\(text)'")
        return "knobs:\n" + knobs.replacingOccurrences(of: text, with: replacement)
    }

    @Test func aServiceDeclaresItsOwnKnobs() throws {
        let c = try Self.parse("""
            knobs:
              - {name: answer_model, kind: categorical, choices: [small, large], default: small}
              - {name: chunk_size, kind: integer, min: 128, max: 1024, grid: [128, 512, 1024], default: 512}
              - {name: rewrite_query, kind: bernoulli, default: false}
              - {name: temperature, kind: continuous, min: 0, max: 1, grid: [0, 1], default: 0.2, when: {knob: answer_model, values: [large]}}
            """)
        let knobs = try #require(c.serviceKnobs)
        #expect(try c.knobs() == knobs)
        #expect(knobs.names == ["answer_model", "chunk_size", "rewrite_query", "temperature"])
        // small: 3 chunks × 2; large: 3 × 2 × 2 temperatures.
        #expect(knobs.grid.count == 6 + 12)
        #expect(knobs.defaults.description == "answer_model=small chunk_size=512 rewrite_query=false temperature=0.2")
    }

    static func parse(_ yaml: String) throws -> PolicyConfiguration {
        try PolicyConfiguration.parse(YAMLFields(text: yaml, file: "policy.yaml"), variants: variants, templates: templates)
    }

    @Test func shippedDefaultsAreTheSpecification() throws {
        let c = try PolicyConfiguration.load(
            from: Self.repository.appendingPathComponent("configs/rl/policy.defaults.yaml"), variants: Self.variants, templates: Self.templates)
        #expect(c.reward.alpha == 0.5 && c.reward.beta == 0.5 && c.reward.gamma == 0.2 && c.reward.delta == 0.2 && c.reward.lambda == 1)
        #expect(c.reward.normalizedCap == 2)
        #expect(c.gates.faithfulnessMin == 0.75 && c.gates.relevancyMin == 0.75)
        #expect(c.gates.latencyP95MaxMilliseconds == 500 && c.gates.errorRateMax == 0.01)
        #expect(c.actions.topKGrid == [3, 5, 8, 10, 16, 24, 32] && c.actions.fusionWeightGrid == [0, 0.25, 0.5, 0.75, 1])
        #expect(c.actions.topKDistribution == .logNormal)
        let shipped = try String(contentsOf: Self.repository.appendingPathComponent("configs/rl/policy.defaults.yaml"), encoding: .utf8)
        #expect(try Self.parse(shipped.replacingOccurrences(of: "distribution: lognormal", with: "distribution: softmax")).actions.topKDistribution == .softmax)
        // The shipped knobs are the built-in pipeline's: no service knobs, and the declaration they
        // make is the one the pipeline's bounds make.
        #expect(c.serviceKnobs == nil && c.actions == PolicyConfiguration(actions: .init(variants: Self.variants, templates: Self.templates)).actions)
        #expect(try c.knobs().names == PolicyConfiguration.pipelineKnobNames && c.knobs().grid.count == 672)
        let model = try PipelineModel.load(from: Self.repository.appendingPathComponent("configs/rag/pipeline.yaml"))
        #expect(model == PipelineModel(), "the shipped pipeline model is the built-in default")
    }

    @Test(arguments: [
        ("reward:\n  alpha: 12\n", "policy.yaml:2: field 'reward.alpha' is 12.0, allowed range [0, 10]"),
        ("gates:\n  relevancy_min: high\n", "policy.yaml:2: field 'gates.relevancy_min' is 'high', expected a finite number in [0, 1]"),
        ("gates:\n  recall_min: 0.5\n", "policy.yaml:2: field 'gates.recall_min' is not a known field (known: error_rate_max, faithfulness_min, latency_p95_max_ms, relevancy_min)"),
        ("version: 2\n", "policy.yaml:1: field 'version' is 2, allowed range [1, 1]"),
        ("actions:\n  variants: [bm25, dense]\n", "policy.yaml:2: field 'actions' is not a known field (known: gates, knobs, penalties, reward, version)"),
        // A service's own knobs: each mistake named with its knob's line and field.
        ("knobs:\n  - {name: model, kind: small, default: a}\n", "policy.yaml:2: field 'knobs[0].kind' is 'small', allowed: categorical, integer, bernoulli, continuous"),
        ("knobs:\n  - {name: model, kind: categorical, choices: [], default: a}\n", "policy.yaml:2: field 'knobs[0].choices' must be a non-empty list of names"),
        ("knobs:\n  - {name: model, kind: categorical, choices: [a, a], default: a}\n",
         "policy.yaml:2: field 'knobs[0].choices' has choices [a, a]: a categorical needs 2 to 10000 distinct choices"),
        ("knobs:\n  - {name: model, kind: categorical, choices: [a, b], default: a}\n  - {name: chunk, kind: integer, min: 512, max: 128, default: 256}\n",
         "policy.yaml:3: field 'knobs[1].max' is 128, not above min 512"),
        // A range whose size overflows an Int (it once trapped the check that counts its values).
        ("knobs:\n  - {name: seed, kind: integer, min: -9223372036854775808, max: 9223372036854775807, default: 0}\n",
         "policy.yaml:2: field 'knobs[0].max' has range -9223372036854775808...9223372036854775807: an integer needs 2 to 10000 values"),
        ("knobs:\n  - name: chunk\n    kind: integer\n    min: 128\n    max: 512\n    default: 1024\n",
         "policy.yaml:6: field 'knobs[0].default' has default 1024, expected an integer in 128...512"),
        ("knobs:\n  - {name: chunk, kind: integer, min: 128, max: 512, grid: [64, 128], default: 128}\n",
         "policy.yaml:2: field 'knobs[0].grid' has grid value 64 outside 128...512"),
        ("knobs:\n  - {name: t, kind: continuous, min: 0, max: 1, default: 0.2, when: {knob: model, values: [large]}}\n",
         "policy.yaml:2: field 'knobs[0].when.knob' is 'model', which is not a knob declared before 't'"),
        ("knobs:\n  - {name: model, kind: categorical, choices: [a, b], default: a}\n  - {name: t, kind: continuous, min: 0, max: 1, default: 0.2, when: {knob: model, values: [c]}}\n",
         "policy.yaml:3: field 'knobs[1].when' applies when 'model' is c, which it cannot be"),
        ("knobs:\n  - {name: rewrite, kind: bernoulli, choices: [a, b], default: false}\n", "policy.yaml:2: field 'knobs[0].choices' does not apply to a bernoulli knob"),
        ("knobs:\n  - {name: rewrite, kind: bernoulli, default: maybe}\n", "policy.yaml:2: field 'knobs[0].default' is 'maybe', which this knob cannot take"),
        ("knobs:\n  - {name: a, kind: bernoulli, default: false}\n  - {name: a, kind: bernoulli, default: true}\n", "policy.yaml:3: field 'knobs[1].name' is declared twice"),
        ("knobs: []\n", "policy.yaml:1: field 'knobs' is empty: declare at least one knob"),
        // The built-in pipeline's knobs must be what the pipeline applies.
        (pipeline("choices: [bm25, dense, hybrid, rrf]", "choices: [bm25, hybrid, rrf, splade]"),
         "policy.yaml:4: field 'knobs[0].choices' has 'splade', which the built-in pipeline does not have (it has: bm25, dense, hybrid, rrf)"),
        (pipeline("default: ranked", "default: sandwich"), "policy.yaml:26: field 'knobs[4].default' is sandwich; the built-in pipeline runs ranked without the tuner"),
        (pipeline("values: [hybrid, rrf]", "values: [hybrid]"), "policy.yaml:22: field 'knobs[3].when' must be {knob: variant, values: [hybrid, rrf]}: the pipeline fuses only there"),
        // Configurations the policy's action layout cannot represent (they once crashed training).
        (pipeline("choices: [ranked, truncated, budgeted, sandwich]", "choices: [ranked, ranked]"),
         "policy.yaml:25: field 'knobs[4].choices' has choices [ranked, ranked]: a categorical needs 2 to 10000 distinct choices"),
        (pipeline("max: 32", "max: 3"), "policy.yaml:9: field 'knobs[1].max' is 3, not above min 3"),
        ("- a\n- b\n", "policy.yaml:1: must be a mapping"),
        ("", "policy.yaml: is empty (delete it, or leave out --policy, to use the built-in defaults)"),
        ("# nothing but a comment\n", "policy.yaml: is empty (delete it, or leave out --policy, to use the built-in defaults)"),
    ])
    func invalidFieldsAreNamedWithFileLineAndRange(yaml: String, message: String) {
        do {
            _ = try Self.parse(yaml)
            Issue.record("accepted: \(yaml)")
        } catch {
            #expect("\(error)" == message)
        }
    }

    @Test func manifestGateOverridesAreValidated() throws {
        let gates = PolicyConfiguration.GateThresholds()
        let overridden = try gates.applying(["relevancy_min": 0.45], source: "manifest")
        #expect(overridden.relevancyMin == 0.45 && overridden.faithfulnessMin == 0.75)
        #expect(throws: ConfigurationError(file: "manifest", field: "gates.relevancy_min", reason: "is 1.5, allowed range [0, 1]")) {
            try gates.applying(["relevancy_min": 1.5], source: "manifest")
        }
    }

    /// r = 0.5·0.8 + 0.5·0.9 − 0.2·min(600/500, 2) − 0.2·min(0.01/0.002, 2) − 1·P, with the latency
    /// gate breached (P gains 1), 10% violations (0.1) and spread 0.55 over the 0.45 band (0.1).
    @Test func rewardFollowsTheSpecification() throws {
        let function = RewardFunction(try Self.parse("version: 1\n"))
        let m = BatchMeasurement(faithfulness: 0.8, relevancy: 0.9, latencyP95Milliseconds: 600, costUSD: 0.01,
                                 errorRate: 0.0, violationRate: 0.1, qualitySpread: 0.55)
        let r = function.evaluate(m)
        #expect(abs(r.latencyNormalized - 1.2) < 1e-12 && r.costNormalized == 2)
        #expect(abs(r.penalty - 1.2) < 1e-12)
        #expect(abs(r.reward - (0.4 + 0.45 - 0.24 - 0.4 - 1.2)) < 1e-12)
        #expect(r.gates.map(\.passed) == [true, true, false, true])
        var clean = m
        clean.latencyP95Milliseconds = 250
        clean.violationRate = 0
        clean.qualitySpread = 0.2
        clean.errorRate = 0.01
        let strict = function.evaluate(clean)
        #expect(!strict.gatesPassed, "the error-rate gate is strict: 1% is a breach")
        #expect(abs(strict.penalty - 1) < 1e-12)
        var twoBreaches = clean
        twoBreaches.latencyP95Milliseconds = 600
        #expect(abs(function.evaluate(twoBreaches).penalty - 2) < 1e-12, "each breached gate counts")
        clean.errorRate = 0.009
        let passing = function.evaluate(clean)
        #expect(passing.gatesPassed && passing.penalty == 0)
        #expect(abs(passing.reward - (0.85 - 0.1 - 0.4)) < 1e-12)
    }

    @Test func metricsMatchHandComputations() {
        let grades: [Int32: Float] = [1: 3, 4: 1, 9: 2]
        let ranking: [Int32] = [4, 2, 1, 7]
        let dcg = 1.0 / log2(2) + 3.0 / log2(4)
        let ideal = 3.0 / log2(2) + 2.0 / log2(3) + 1.0 / log2(4)
        #expect(abs(RankingMetrics.ndcg(ranking, grades: grades, k: 10) - dcg / ideal) < 1e-12)
        #expect(RankingMetrics.recall(ranking, grades: grades, k: 10) == 2.0 / 3)
        #expect(RankingMetrics.recall(ranking, grades: grades, k: 1) == 1.0 / 3)
        #expect(Percentile.of([4, 1, 3, 2], 50) == 2.5)
        #expect(abs(Percentile.of((1...20).map(Double.init), 95) - 19.05) < 1e-12)
    }

    @Test(arguments: [
        ("Contact jane.doe@example.org for details.", [PolicyViolationDetector.Kind.email]),
        ("Call +44 20 7946 0958 today.", [.phone]),
        ("Call (555) 123-4567 or 555.123.4567.", [.phone]),
        ("Use key AKIAIOSFODNN7EXAMPLE to connect.", [.secret]),
        ("token sk-proj-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c", [.secret]),
        ("aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5", [.secret]),
        ("-----BEGIN RSA PRIVATE KEY-----", [.secret]),
    ])
    func detectorFlagsPIIAndSecrets(text: String, kinds: [PolicyViolationDetector.Kind]) {
        #expect(PolicyViolationDetector().violations(in: text) == kinds)
    }

    @Test(arguments: [
        "Between 1998 and 2004, 1,234,567 patients (95% CI 1.2-3.4) were enrolled.",
        "The sequence ACGTACGTACGTACGTACGTACGTACGTACGTACGT was amplified.",
        "Immunohistochemistry-based deoxyribonucleotide-phosphorylation assays.",
        "Reference 10.1038/nature12373 and PMID 23845962; ISBN 978-3-16-148410-0.",
        "Dosage 5 mg/kg at 12-14 weeks, p < 0.001, n = 1234.",
    ])
    func detectorLeavesOrdinaryScientificTextAlone(text: String) {
        #expect(PolicyViolationDetector().violations(in: text).isEmpty)
    }
}
