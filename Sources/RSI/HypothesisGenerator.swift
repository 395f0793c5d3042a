import Foundation
import NumericCore
import Pipeline
import PPO
import Statistics
import Tracking
import TrainingRuns
import TunerPolicy
import Tuning

/// Turns the tuner's proposal into hypotheses. The window's questions are replayed (matched to
/// the dataset's judged questions, once per request, so the traffic's mix is what is learned), PPO
/// retrains the policy on them, and for every category where the retrained policy's configuration
/// differs from what production serves, each kind of difference becomes a hypothesis: the current
/// settings with that kind's settings from the proposal, weighed by the paired per-query reward
/// change over the window's requests of that category.
public struct HypothesisGenerator {
    public let setup: EvaluationSetup
    public let system: RetrievalSystem
    public let configuration: RSIConfiguration

    public init(setup: EvaluationSetup, system: RetrievalSystem, configuration: RSIConfiguration) {
        self.setup = setup
        self.system = system
        self.configuration = configuration
    }

    public struct Proposal: Sendable {
        /// The retrained policy's configuration per category.
        public var configurations: [String: RAGSettings]
        /// The retrained policy's checkpoint (what a deployed version records it came from).
        public var checkpoint: Data
        /// Window requests replayed, and those without a judged counterpart in the dataset.
        public var replayed: Int
        public var unmatched: Int
        /// Hypotheses with a positive expected gain, ranked, at most `max_hypotheses`.
        public var hypotheses: [Hypothesis]
        /// Hypotheses left out: no expected gain, or beyond `max_hypotheses`.
        public var discarded: [Hypothesis]
        /// The dataset queries the window replayed (held out from the A/B tests).
        public var windowQueries: Set<Int>
        /// The stage times the replay charged, by question: with them the same window retrains
        /// the same policy (``OfflineTuning/init(setup:system:train:test:environmentOptions:timings:)``).
        public var timings: StageTimings
    }

    public enum Failure: Error, CustomStringConvertible {
        case nothingToReplay(requests: Int)
        public var description: String {
            switch self {
            case let .nothingToReplay(n): "none of the window's \(n) requests carries a question matching a judged question of the dataset; log questions (docs/decision-log.md)"
            }
        }
    }

    /// The dataset's judged questions by normalised text.
    public static func judgedQuestions(_ setup: EvaluationSetup) -> [String: Int] {
        var byText: [String: Int] = [:]
        for q in Set(setup.dataset.splits.values.flatMap(\.queries)).sorted() {
            let key = RequestLog.normalized(setup.dataset.queries[q].text)
            byText[key] = byText[key] ?? q
        }
        return byText
    }

    public func propose(window: [LoggedRequest], production: ProductionConfiguration, analysis: TelemetryAnalysis, cycle: String,
                        patterns: PatternExtraction?, shouldStop: () -> Bool = { false }) throws -> Proposal {
        let byText = Self.judgedQuestions(setup)
        let replay = window.compactMap { r in r.question.flatMap { byText[RequestLog.normalized($0)] } }
        guard replay.count >= 2 else { throw Failure.nothingToReplay(requests: window.count) }
        // Hypotheses are weighed on the replayed questions themselves (the A/B tests hold them
        // out); no held-out split is scored here, so none is cached.
        let tuning = try OfflineTuning(setup: setup, system: system, train: replay, test: [])
        // As `tuner train` does: propose from the update whose configurations score best on the
        // replayed window, not from whichever batches came last.
        let run = try TrainingRun(.offline(tuning), settings: TrainingSettings(steps: configuration.trainingSteps, seed: configuration.seed))
        try run.train(shouldStop: shouldStop)
        guard let checkpoint = run.policy else { preconditionFailure("an offline run has a trainer") }
        // A production configuration carries the fusion weight to two decimals: finer differences are noise.
        let proposed = tuning.proposedConfigurations(Policy(checkpoint: checkpoint), categories: tuning.trainCache.categories).mapValues { c in
            var rounded = c
            rounded.fusionWeight = (c.fusionWeight * 100).rounded() / 100
            return rounded
        }

        let cache = tuning.trainCache
        let workspace = cache.makeWorkspace()
        var candidates: [Hypothesis] = []
        for (category, proposal) in proposed.sorted(by: { $0.key < $1.key }) {
            let current = production.settings(for: category)
            let rows = (0..<cache.queries.count).filter { cache.categories[cache.categoryIndex(at: $0)] == category }
            let before = try rows.map { try tuning.queryReward(cache.outcome(at: $0, configuration: current, workspace: workspace)) }
            let breaches = analysis.categories.first { $0.key == category }?.breaches ?? []
            for kind in configuration.hypothesisKinds {
                var changed = kind.apply(proposal, to: current)
                if system.reranker == nil { changed.rerank = false }
                guard changed != current else { continue }
                let after = try rows.map { try tuning.queryReward(cache.outcome(at: $0, configuration: changed, workspace: workspace)) }
                let evidence = Hypothesis.Evidence(
                    requests: rows.count, trafficShare: Double(rows.count) / Double(replay.count),
                    expectedRewardChange: Bootstrap(seed: configuration.seed).pairedDifference(after, before), currentBreaches: breaches)
                let id = "H" + String(StableHash.hexDigest(Array("\(cycle)|\(category)|\(kind.rawValue)|\(changed)".utf8)).prefix(8))
                let hypothesis = Hypothesis(id: id, cycle: cycle, kind: kind, category: category, from: current, to: changed, evidence: evidence,
                                            risk: Self.risk(kind, from: current, to: changed), score: evidence.expectedRewardChange.estimate)
                candidates.append(patterns?.ranked(hypothesis) ?? hypothesis)
            }
        }
        let promising = candidates.filter { $0.evidence.expectedRewardChange.estimate > 0 }.sorted { ($0.score, $1.id) > ($1.score, $0.id) }
        let kept = Array(promising.prefix(configuration.maxHypotheses))
        return Proposal(
            configurations: proposed, checkpoint: try checkpoint.archive().encoded(), replayed: replay.count, unmatched: window.count - replay.count,
            hypotheses: kept, discarded: candidates.filter { h in !kept.contains { $0.id == h.id } }, windowQueries: Set(replay),
            timings: tuning.trainCache.timings)
    }

    /// Risk by what the change touches: a new retriever changes every ranking (high); re-ranking
    /// and the template change cost and what the generator reads (medium); a small move of k or
    /// the fusion weight is low, a large one medium.
    public static func risk(_ kind: Hypothesis.Kind, from: RAGSettings, to: RAGSettings) -> Hypothesis.Risk {
        switch kind {
        case .retrieverReplacement: .high
        case .rerankToggle, .templateChange: .medium
        case .parameterTuning: abs(to.k - from.k) <= 8 && abs(to.fusionWeight - from.fusionWeight) <= 0.25 ? .low : .medium
        }
    }
}
