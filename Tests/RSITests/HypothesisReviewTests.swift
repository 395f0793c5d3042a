import Foundation
import RSI
import Scoring
import Statistics
import Testing
import Tracking
import TunerPolicy

@Suite struct HypothesisReviewTests {
    static let interval = Bootstrap(seed: 3).pairedDifference([0.5, 0.6, 0.7, 0.65, 0.55], [0.4, 0.45, 0.5, 0.5, 0.4])

    static func hypothesis(_ kind: Hypothesis.Kind, to: RAGSettings, category: String = "warranty", id: String = "H1") -> Hypothesis {
        let from = RAGSettings()
        return Hypothesis(id: id, cycle: "C1", kind: kind, category: category, from: from, to: to,
                          evidence: .init(requests: 5, trafficShare: 0.7, expectedRewardChange: interval, currentBreaches: []),
                          risk: HypothesisGenerator.risk(kind, from: from, to: to), score: interval.estimate)
    }

    static let bounds = PolicyConfiguration(actions: .init(variants: ["bm25", "dense", "hybrid", "rrf"], templates: ["ranked", "truncated"])).actions

    @Test func riskFollowsWhatTheChangeTouches() {
        #expect(Self.hypothesis(.parameterTuning, to: RAGSettings(k: 14)).risk == .low)
        #expect(Self.hypothesis(.parameterTuning, to: RAGSettings(k: 24)).risk == .medium)
        #expect(Self.hypothesis(.rerankToggle, to: RAGSettings(rerank: true)).risk == .medium)
        #expect(Self.hypothesis(.retrieverReplacement, to: RAGSettings(variant: .bm25)).risk == .high)
    }

    @Test func validationRejectsProtectedAndOutOfBoundsChangesAndHoldsRiskyOnes() {
        var configuration = RSIConfiguration()
        configuration.protectedSettings = ["template", "warranty.k"]
        configuration.autoApproveMaxRisk = .medium
        let validator = HypothesisValidator(configuration: configuration, bounds: Self.bounds)
        #expect(validator.validate(Self.hypothesis(.rerankToggle, to: RAGSettings(rerank: true))).status == .approved)
        #expect(validator.validate(Self.hypothesis(.retrieverReplacement, to: RAGSettings(variant: .bm25))).status == .pendingReview)
        let protected = validator.validate(Self.hypothesis(.parameterTuning, to: RAGSettings(k: 12)))
        #expect(protected.status == .rejected && protected.reasons == ["changes protected setting k of category warranty"])
        #expect(validator.validate(Self.hypothesis(.parameterTuning, to: RAGSettings(k: 12), category: "overview")).status == .approved)
        #expect(validator.validate(Self.hypothesis(.templateChange, to: RAGSettings(template: .truncated), category: "overview")).status == .rejected)
        let outside = validator.validate(Self.hypothesis(.parameterTuning, to: RAGSettings(k: 40), category: "overview"))
        #expect(outside.status == .rejected && outside.reasons == ["k 40 is outside 3...32"])
        configuration.hypothesisKinds = [.parameterTuning]
        configuration.protectedSettings = []
        let disallowed = HypothesisValidator(configuration: configuration, bounds: Self.bounds).validate(Self.hypothesis(.rerankToggle, to: RAGSettings(rerank: true)))
        #expect(disallowed.reasons == ["kind rerank_toggle is not among the allowed hypothesis types"])
    }

    @Test func theLoopConfigurationLoadsAndBadFieldsAreNamed() throws {
        let shipped = try RSIConfiguration.load(URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("configs/rsi/loop.yaml"))
        #expect(shipped.strategy == .canary && shipped.maxHypotheses == 3 && shipped.hypothesisKinds == Hypothesis.Kind.allCases
                && shipped.autoApproveMaxRisk == .medium && shipped.gradualSteps == [10, 25, 50, 75, 100] && shipped.protectedSettings.isEmpty)
        func failure(_ yaml: String) -> String {
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("loop-\(UUID().uuidString).yaml")
            try! yaml.write(to: url, atomically: true, encoding: .utf8)
            do {
                _ = try RSIConfiguration.load(url)
                return "loaded"
            } catch {
                return "\(error)".replacingOccurrences(of: url.path, with: "FILE")
            }
        }
        #expect(failure("deployment:\n  strategy: big_bang\n").contains("FILE:2: field 'deployment.strategy' is 'big_bang', allowed: direct, canary, blue_green, gradual"))
        #expect(failure("deployment:\n  gradual_steps: [10, 50]\n").contains("deployment.gradual_steps' must rise strictly and end at 100"))
        #expect(failure("validation:\n  protected: [warranty.colour]\n").contains("field 'validation.protected' has 'warranty.colour'"))
        #expect(failure("hypotheses:\n  max_hypothesis: 3\n").contains("field 'hypotheses.max_hypothesis' is not a known field"))
        #expect(failure("validation:\n  auto_approve_max_risk: none\n") == "loaded")
    }

    @Test func patternsCountFinishedAttemptsAndDemoteWhatKeepsFailing() throws {
        let store = try ExperienceStore(path: FileManager.default.temporaryDirectory.appendingPathComponent("experience-\(UUID().uuidString).sqlite"))
        var records: [HypothesisRecord] = []
        let statuses: [(Hypothesis.Kind, String, HypothesisRecord.Status)] = [
            (.rerankToggle, "warranty", .rolledBack), (.rerankToggle, "warranty", .failed), (.rerankToggle, "warranty", .rolledBack),
            (.rerankToggle, "overview", .kept), (.parameterTuning, "warranty", .kept), (.parameterTuning, "overview", .kept),
            (.templateChange, "overview", .pendingReview),
        ]
        for (i, (kind, category, status)) in statuses.enumerated() {
            var h = Self.hypothesis(kind, to: kind == .rerankToggle ? RAGSettings(rerank: true) : RAGSettings(k: 12), category: category, id: "H\(i)")
            h.cycle = "C\(i)"
            try store.beginCycle(h.cycle, service: "demo-rag")
            records.append(try store.insert(h, service: "demo-rag", requestsPerHour: 50, corpusDocuments: 480, status: status))
        }
        let patterns = PatternExtraction(try store.hypotheses())
        let warrantyRerank = try #require(patterns.patterns.first { $0.kind == .rerankToggle && $0.condition == "category=warranty" })
        #expect(warrantyRerank.attempts == 3 && warrantyRerank.successes == 0 && abs(warrantyRerank.support - 0.5) < 1e-12)
        let rerank = try #require(patterns.patterns.first { $0.kind == .rerankToggle && $0.condition == nil })
        #expect(rerank.attempts == 4 && rerank.successes == 1 && rerank.confidence == 0.25)
        #expect(!patterns.patterns.contains { $0.kind == .templateChange })  // nothing finished yet

        let demoted = patterns.ranked(Self.hypothesis(.rerankToggle, to: RAGSettings(rerank: true)))
        #expect(abs(demoted.score - Self.interval.estimate * (1.0 / 5.0) / 0.5) < 1e-12)
        #expect(demoted.patternNote?.hasPrefix("demoted ×0.40: rerank_toggle when category=warranty: 0 of 3 succeeded") == true)
        let promoted = patterns.ranked(Self.hypothesis(.parameterTuning, to: RAGSettings(k: 12), category: "error_code"))
        #expect(promoted.score > Self.interval.estimate && promoted.patternNote?.hasPrefix("promoted ×1.50: parameter_tuning: 2 of 2") == true)
    }
}
