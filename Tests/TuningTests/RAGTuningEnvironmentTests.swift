import Foundation
import NumericCore
import Pipeline
import PPO
import Scoring
import Statistics
import Testing
import TunerPolicy
import Tuning

@Suite(.serialized) struct RAGTuningEnvironmentTests {
    static func tuning(releaseTimes: Bool = false) throws -> OfflineTuning {
        let (setup, system) = try SharedSystems.system("cranfield")
        return try OfflineTuning(setup: setup, system: system, timings: releaseTimes ? releaseStageTimes(setup) : nil)
    }

    /// A trainer with the preset's hyperparameters on Cranfield, release stage times charged.
    static func trainer(steps: Int, seed: UInt64) throws -> (OfflineTuning, PPOTrainer<RAGTuningEnvironment>) {
        let tuning = try tuning(releaseTimes: true)
        var ppo = PPOConfiguration.ragTuning
        ppo.totalSteps = steps
        ppo.seed = seed
        return (tuning, try tuning.trainer(ppo))
    }

    /// What a release build measures per Cranfield question (medians, ms), charged to every
    /// question: the modelled embedding, re-rank and generation times dominate latency, and this
    /// debug build's own measurements, slower and noisier beside other tests, would move the p95
    /// across the gate from run to run.
    static func releaseStageTimes(_ setup: EvaluationSetup) -> StageTimings {
        let question = StageTimings.Question(lexical: 0.022, dense: 0.17, fusion: 0.085, rerank: 0.018, answerPerPassage: 0.013)
        return StageTimings(questions: Dictionary(setup.dataset.queries.map { ($0.id, question) }, uniquingKeysWith: { first, _ in first }))
    }

    /// A step's reward is the reward of the batch it scored; episodes are truncated after
    /// `batchesPerEpisode`; the same seed replays the same episode; snapshot + restore resumes it.
    @Test func stepsScoreBatchesAndReplayFromSeedAndSnapshot() throws {
        let tuning = try Self.tuning()
        var a = tuning.environment(seed: 5)
        var b = tuning.environment(seed: 5)
        #expect(a.actionSpace.heads.map(\.name) == ["variant", "k", "rerank", "fusion_weight", "template"])
        let first = a.reset()
        #expect(first == b.reset() && first.count == a.observationSize)
        #expect(first.allSatisfy { abs($0) <= 3 })
        let action: [Double] = [2, 5, 0, 0.5, 1]  // hybrid, k 5, no re-rank, w 0.5, truncated
        #expect(a.configuration(for: action) == RAGSettings(variant: .hybrid, k: 5, rerank: false, fusionWeight: 0.5, template: .truncated))
        var results: [StepResult] = []
        for step in 0..<a.options.batchesPerEpisode {
            let r = a.step(action)
            #expect(r.reward == b.step(action).reward)
            #expect(r.truncated == (step == a.options.batchesPerEpisode - 1) && !r.terminated)
            #expect(r.reward.isFinite && r.reward > -5 && r.reward < 1)
            results.append(r)
            if step == 2 {
                var resumed = tuning.environment(seed: 99)
                _ = resumed.reset()
                resumed.restore(a.snapshot)
                var original = a
                let next = original.step(action)
                let replay = resumed.step(action)
                #expect(next.reward == replay.reward && next.observation == replay.observation)
            }
        }
        #expect(Set(results.map(\.reward)).count > 1, "batches differ")
    }

    /// The learner is paid the batch's reward less the reference configuration's mean reward on
    /// the same questions plus its category mean: on average the batch's reward, with much less
    /// of the spread that comes from which questions were drawn.
    @Test func pairedBaselineKeepsTheMeanAndRemovesTheDrawsNoise() throws {
        let tuning = try Self.tuning()
        let cache = tuning.trainCache
        let rewards = try CachedBatchSource.referenceRewards(
            cache: cache, reference: RAGTuningEnvironment.defaultConfiguration, weights: tuning.setup.reward.weights)
        #expect(rewards.count == cache.queries.count && rewards.allSatisfy(\.isFinite))
        let source = CachedBatchSource(cache: cache, referenceRewards: rewards)
        let sizes = (0..<cache.categories.count).map { c in (0..<cache.queries.count).filter { cache.categoryIndex(at: $0) == c }.count }
        let category = sizes.indices.max { sizes[$0] < sizes[$1] }!
        let chosen = RAGSettings(variant: .hybrid, k: 8, rerank: false, fusionWeight: 0.75, template: .budgeted)
        // Without the gates' all-or-nothing penalty, which the questions drawn do not decide alone.
        var reward = tuning.setup.reward
        reward.penalties.gateBreach = 0
        var rng = RandomGenerator(seed: 21)
        var raw: [Double] = [], paid: [Double] = []
        for _ in 0..<300 {
            let s = try source.score(chosen, category: category, size: 100, reward: reward, using: &rng)
            raw.append(s.reward)
            paid.append(s.learningReward)
        }
        func mean(_ x: [Double]) -> Double { x.reduce(0, +) / Double(x.count) }
        func sd(_ x: [Double]) -> Double { let m = mean(x); return (x.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(x.count - 1)).squareRoot() }
        print("paired baseline: reward mean \(mean(raw)) sd \(sd(raw)); paid mean \(mean(paid)) sd \(sd(paid))")
        #expect(abs(mean(paid) - mean(raw)) < 0.01)
        #expect(sd(paid) < 0.75 * sd(raw))
        #expect(Set(zip(raw, paid).map { $0 - $1 }).count > 1, "the baseline follows the draw")
    }

    /// Episodes start from random configurations, so the policy sees every setting a service may
    /// be running when it is asked, and from a corpus of random size (two decades either side of
    /// the dataset's) and age (0 to 1,825 days), which replayed data cannot vary.
    @Test func episodesStartFromRandomConfigurationsAndCorpora() throws {
        let tuning = try Self.tuning()
        var env = tuning.environment(seed: 11)
        var variants = Set<Double>(), ks = Set<Double>(), templates = Set<Double>()
        var sizes: [Double] = [], ages: [Double] = []
        let n = tuning.trainCache.categories.count
        let documents = Double(tuning.system.dataset.documents.count)
        for _ in 0..<40 {
            _ = env.reset()
            // The snapshot: mix and metrics, category and step, the configuration, the corpus.
            let v = env.snapshot.values
            let c = Array(v[(n + 7)..<(n + 12)])
            variants.insert(c[0]); ks.insert(c[1]); templates.insert(c[4])
            #expect((3...32).contains(Int(c[1])) && (0...1).contains(c[3]))
            sizes.append(v[n + 12])
            ages.append(v[n + 13])
        }
        #expect(variants.count == 4 && templates.count == 4 && ks.count >= 15)
        #expect(sizes.allSatisfy { $0 >= (documents / 100).rounded(.down) && $0 <= documents * 100 } && Set(sizes).count > 30)
        #expect(sizes.contains { $0 < documents / 10 } && sizes.contains { $0 > documents * 10 })
        #expect(ages.allSatisfy { (0...ContextFeatures.ageRangeDays).contains($0) } && ages.contains { $0 < 30 } && ages.contains { $0 > 365 })
    }

    /// Short PPO training on Cranfield's train half learns configurations that beat the default
    /// static configuration (k 10, ranked, which breaks the latency gate) on the held-out half,
    /// with the bootstrap interval of the per-query gain above zero.
    @Test func shortTrainingBeatsTheDefaultOnHeldOutQueries() throws {
        // At 8,192 steps the log-normal k head still breaches two gates over the test split in most
        // runs (release CLI, seed 3: 4 of 5). At 32,768, with the release times charged, seeds 1, 2
        // and 3 pass every gate: relevancy 0.478-0.479 (gate 0.45), p95 493.4-494.4 ms (gate 500),
        // one failed answer in 111 (error rate below 0.01).
        let (tuning, trainer) = try Self.trainer(steps: 32_768, seed: 3)
        try trainer.train()
        let verdict = try tuning.verdict(policy: Policy(checkpoint: trainer.checkpoint), bootstrap: Bootstrap(resamples: 2_000, seed: 1))
        print("Cranfield verdict: policy \(verdict.policy.reward.reward), default \(verdict.defaultStatic.reward.reward), best static \(verdict.bestStatic.reward.reward), gain vs default \(verdict.gainVersusDefault.estimate) [\(verdict.gainVersusDefault.lower), \(verdict.gainVersusDefault.upper)], gates \(verdict.policy.reward.gates.map { "\($0.name) \($0.value)" })")
        #expect(verdict.gainVersusDefault.lower > 0)
        #expect(verdict.policy.reward.reward > verdict.defaultStatic.reward.reward)
        #expect(Set(verdict.policyConfigurations.keys) == Set(tuning.testCache.categories.filter { tuning.trainCache.categories.contains($0) }))
        // On Cranfield's train half no grid configuration meets the "how" and "what" gates.
        #expect(Set(["how", "what"]).isSubset(of: verdict.unattainableGateCategories))

        // The oracle answers to the evidence rule: a category's own configuration (the best one
        // meeting its gates, or where none does the least total shortfall) only with evidence,
        // the best static one otherwise. Its train score, by another route: each category's
        // configuration scored on the whole train split, weighted by the category's size.
        let grid = ConfigurationGrid.configurations(tuning.setup.policy.actions, rerankAvailable: tuning.system.reranker != nil)
        let reports = try grid.map { try tuning.trainCache.evaluate($0, reward: tuning.setup.reward) }
        let n = Double(tuning.trainCache.queries.count)
        var oracleTotal = 0.0
        for category in tuning.trainCache.categories {
            let evidence = try #require(verdict.specialisation.evidence(for: category))
            let summaries = reports.map { $0.perCategory[category]! }
            let served = evidence.specialised ? evidence.own : verdict.bestStaticConfiguration
            #expect(verdict.oracleConfigurations[category].map { $0 == served } ?? true)
            oracleTotal += Double(summaries[0].n) * summaries[grid.firstIndex(of: served)!].reward.reward
            let own = summaries[grid.firstIndex(of: evidence.own)!]
            // Holding the gates with margin first, then passing them at the point estimates.
            let held = summaries.filter(\.gatesHeldWithMargin)
            if !held.isEmpty {
                #expect(own.gatesHeldWithMargin && own.reward.reward == held.map(\.reward.reward).max())
            } else if evidence.feasible {
                #expect(own.gatesPassed && own.reward.reward == summaries.filter(\.gatesPassed).map(\.reward.reward).max())
            } else {
                func shortfall(_ m: MetricsSummary) -> Double { m.reward.gates.map(\.relativeShortfall).reduce(0, +) }
                #expect(summaries.allSatisfy { !$0.gatesPassed } && shortfall(own) == summaries.map(shortfall).min())
                #expect(!evidence.shortfalls.isEmpty && evidence.bestValues["relevancy_min"] == summaries.map { $0.reward.gates[1].value }.max())
            }
        }
        #expect(abs(oracleTotal / n - verdict.oracleTrainReward) < 1e-12)
        // Cranfield's train half has categories of one to four questions: none earns its own
        // configuration, by gain or by gates ("why", two questions, once did by gates).
        let tiny = verdict.specialisation.evidence.filter { $0.questions < Specialisation.minimumQuestions }
        #expect(!tiny.isEmpty && tiny.allSatisfy { !$0.specialised && $0.reason == .tooFewQuestions })
        // The served policy: a category keeps the network's proposal only where it is specialised.
        for (category, served) in verdict.policyConfigurations where !(verdict.specialisation.evidence(for: category)?.specialised ?? false) {
            #expect(served == verdict.bestStaticConfiguration, "\(category)")
        }
    }
}

/// The demo dataset the main command trains on with no arguments.
@Suite struct DemoDatasetTests {
    /// On the demo, PPO must find the per-category configurations and beat the best single static
    /// configuration on the held-out products, interval above zero (the case a contextual policy
    /// exists for), without a gate violation.
    @Test func demoTrainingFindsPerCategoryConfigurations() throws {
        let setup = try EvaluationSetup.load(
            datasetFolder: SharedSystems.repository.appendingPathComponent("datasets/demo"), policyFile: nil, pipelineFile: nil)
        #expect(setup.dataset.documents.count == 480 && setup.dataset.queries.count == 180)
        #expect(setup.dataset.manifest.id == "demo" && setup.dataset.embeddings == nil)
        #expect(try setup.queries(split: "train").count == 90 && setup.queries(split: "test").count == 90)
        BLAS.setThreads(1)
        let tuning = try OfflineTuning(setup: setup, system: try RetrievalSystem(dataset: setup.dataset, costModel: setup.costModel))
        var ppo = PPOConfiguration.ragTuning
        // The main command's 40,000 steps: the log-normal k head needs more than 20,000 to settle
        // "overview" on k 8–9 (seeds 1–8 at 20,480: 2 of 8 below the best static configuration).
        ppo.totalSteps = 40_960
        let trainer = try tuning.trainer(ppo)
        try trainer.train()
        let verdict = try tuning.verdict(policy: Policy(checkpoint: trainer.checkpoint), bootstrap: Bootstrap(resamples: 2_000))
        print("demo: policy \(verdict.policy.reward.reward), best static \(verdict.bestStatic.reward.reward), oracle \(verdict.oracle.reward.reward); \(verdict.policyConfigurations)")
        #expect(verdict.gainVersusBestStatic.lower > 0)
        #expect(verdict.gateViolations.isEmpty && verdict.unattainableGateCategories.isEmpty && verdict.overallGatesPassed)
        #expect(verdict.policyConfigurations["error_code"]!.k < verdict.policyConfigurations["overview"]!.k)
    }
}

@Suite struct UnionGateTests {
    /// In a union each dataset keeps its own gates per category; over all queries the most lenient apply.
    @Test func eachCategoryKeepsItsDatasetsGates() throws {
        let demo = try EvaluationSetup.load(
            datasetFolder: SharedSystems.repository.appendingPathComponent("datasets/demo"), policyFile: nil, pipelineFile: nil)
        let (cranfield, _) = try SharedSystems.system("cranfield")
        let union = EvaluationSetup.union([demo, cranfield])
        #expect(union.gates.relevancyMin == 0.45 && union.gates.faithfulnessMin == 0.5)
        #expect(union.reward.forCategory("demo").gates.relevancyMin == 0.75)
        #expect(union.reward.forCategory("cranfield").gates.relevancyMin == 0.45)
        #expect(union.reward.forCategory("unknown").gates == union.gates)
        let m = BatchMeasurement(faithfulness: 0.6, relevancy: 0.6, latencyP95Milliseconds: 300, costUSD: 0.0005,
                                 errorRate: 0, violationRate: 0, qualitySpread: 0.1)
        #expect(union.reward.forCategory("cranfield").evaluate(m).gatesPassed)
        #expect(!union.reward.forCategory("demo").evaluate(m).gatesPassed)
    }
}
