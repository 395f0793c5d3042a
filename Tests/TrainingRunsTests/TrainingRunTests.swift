import Foundation
import NumericCore
import Pipeline
import Retrieval
import Testing
import Tracking
import TrainingRuns
import TunerPolicy
import Tuning

/// A training run through the library, as `tuner train` drives it, on the demo dataset with
/// the shipped configuration: it keeps its stage times and repeats exactly with them; it judges
/// the best update on the train split unless told to keep the last; stopped after an update it
/// is interrupted, saved, and resumes to the verdict the uninterrupted run gives; its report
/// reads back from the store.
@Suite(.serialized) struct TrainingRunTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let demo: (EvaluationSetup, RetrievalSystem) = {
        BLAS.setThreads(1)
        let setup = try! EvaluationSetup.load(
            datasetFolder: repository.appendingPathComponent("datasets/demo"), manifest: nil,
            policyFile: repository.appendingPathComponent("configs/rl/policy.defaults.yaml"),
            pipelineFile: repository.appendingPathComponent("configs/rag/pipeline.yaml"))
        return (setup, try! RetrievalSystem(dataset: setup.dataset, costModel: setup.costModel))
    }()

    static func store() -> (RunStore, URL) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("training-run-\(UUID().uuidString)")
        return (try! RunStore(folder: folder), folder)
    }

    static func record(seed: UInt64) -> RunRecord {
        RunRecord(id: RunStore.newRunID(), experiment: "demo", created: Date(), status: .running, command: "test", datasetPath: "datasets/demo",
                  datasetID: "demo", datasetCommit: nil, policyConfigurationHash: "test", projectVersion: "test", seed: Int64(seed), hyperparameters: "")
    }

    /// A tracked offline run on the demo, trained to the end (or until `stopAfter` updates) and judged when it finished.
    static func run(_ settings: TrainingSettings, store: RunStore, timings: StageTimings? = nil, stopAfter: Int? = nil) throws
        -> (run: TrainingRun, stop: TrainingRun.Stop, report: RunReport?) {
        let (setup, system) = demo
        let (tuning, _) = try TrainingRun.offlineTuning(settings, setup: setup, system: system, timings: timings, maxBadLines: 0)
        let run = try TrainingRun(.offline(tuning), settings: settings, store: store, record: record(seed: settings.ppo.seed))
        var updates = 0
        let stop = try run.train(shouldStop: {
            updates += 1
            return updates == stopAfter
        })
        return (run, stop, stop == .interrupted ? nil : try run.judge().report)
    }

    @Test func aRunRepeatsExactlyWithItsKeptStageTimes() throws {
        let (store, folder) = Self.store()
        defer { try? FileManager.default.removeItem(at: folder) }
        let settings = try TrainingSettings(steps: 1024, seed: 3)
        let first = try Self.run(settings, store: store)
        let kept = TrainingRun.stageTimesFile(store, first.report!.runID)
        let keptBytes = try Data(contentsOf: kept)
        let second = try Self.run(settings, store: store, timings: try StageTimings.read(from: kept))
        let a = try #require(first.report?.test), b = try #require(second.report?.test)
        #expect(a.policyReward == b.policyReward && a.bestStaticReward == b.bestStaticReward)
        #expect(a.policy?.latencyP95Milliseconds == b.policy?.latencyP95Milliseconds)
        #expect(try Data(contentsOf: TrainingRun.stageTimesFile(store, second.report!.runID)) == keptBytes)
    }

    /// By default the verdict judges, and policy.ckpt holds, the update whose configurations score
    /// best on the train split, as every update's score was logged; `selection: .last` judges the
    /// last update and saves no selection. The stored report is the one returned.
    @Test func theJudgedPolicyIsTheBestUpdateOnTrainUnlessTheLastIsAsked() throws {
        let (store, folder) = Self.store()
        defer { try? FileManager.default.removeItem(at: folder) }
        let best = try Self.run(try TrainingSettings(steps: 4096, seed: 3), store: store)
        let report = try #require(best.report)
        let chosen = try #require(report.policySelection)
        #expect(chosen.rule == .best && chosen.updates == 8 && (0..<8).contains(chosen.update))
        #expect(chosen.oracleTrainReward.isFinite, "the oracle's train score beside the policy's")
        // The mean per-query rewards are what the paired gains are differences of.
        let means = try #require(report.test.queryReward)
        for (mean, gain) in [(means.defaultStatic, report.test.gainVsDefault), (means.bestStatic, report.test.gainVsBestStatic!),
                             (means.oracle, report.test.gainVsOracle!)] {
            #expect(abs(means.policy - mean - gain.mean) < 1e-9)
        }

        // Every update's score, as the run logged it: the kept one is the first highest.
        let scores = try store.metrics(run: report.runID).filter { $0.name == "train_reward" }.sorted { $0.update < $1.update }
        #expect(scores.map(\.update) == Array(0..<8))
        let top = scores.indices.max { scores[$0].value < scores[$1].value }!
        #expect(chosen.update == top && abs(chosen.trainReward - scores[top].value) < 1e-12)
        let kept = try PolicyCheckpoint.read(from: TrainingRun.policyFile(store, report.runID))
        #expect(kept.selection == PolicyCheckpoint.Selection(update: top, score: scores[top].value))
        // It carries the knobs it was trained under: the shipped declaration.
        let trainedUnder = try Self.demo.0.policy.knobs()
        #expect(kept.knobs == trainedUnder)

        // The record says finished and carries the same report.
        let record = try store.run(report.runID)
        #expect(record.status == .finished)
        let verdict = try #require(record.verdict)
        let stored = try JSONDecoder().decode(RunReport.self, from: Data(verdict.utf8))
        #expect(try stored.json == report.json)

        // The same run (its stage times, its seed) judged at its last update.
        let times = try StageTimings.read(from: TrainingRun.stageTimesFile(store, report.runID))
        let last = try Self.run(try TrainingSettings(steps: 4096, seed: 3, selection: .last), store: store, timings: times)
        let judged = try #require(last.report?.policySelection)
        #expect(judged.rule == .last && judged.update == 7 && abs(judged.trainReward - scores[7].value) < 1e-12)
        #expect(try PolicyCheckpoint.read(from: TrainingRun.policyFile(store, last.report!.runID)).selection == nil)
    }

    /// Stopped after its third update, a run is interrupted with its trainer saved; resumed from
    /// the store, it finishes with the verdict and the kept update of the run that never stopped.
    @Test func anInterruptedRunResumesToTheUninterruptedVerdict() throws {
        let (store, folder) = Self.store()
        defer { try? FileManager.default.removeItem(at: folder) }
        let settings = try TrainingSettings(steps: 4096, seed: 5)
        let whole = try Self.run(settings, store: store)
        let times = try StageTimings.read(from: TrainingRun.stageTimesFile(store, whole.report!.runID))

        let stopped = try Self.run(settings, store: store, timings: times, stopAfter: 3)
        let id = try #require(stopped.run.record?.id)
        #expect(stopped.stop == .interrupted && stopped.run.trainer?.update == 3)
        #expect(try store.run(id).status == .interrupted)

        let resumption = try TrainingRun.Resumption(String(id.prefix(id.count - 2)), in: store)
        #expect(resumption.record.id == id && resumption.datasets == ["datasets/demo"] && resumption.settings.keeps == .best)
        let (setup, system) = Self.demo
        let (tuning, _) = try TrainingRun.offlineTuning(resumption.settings, setup: setup, system: system, timings: resumption.timings, maxBadLines: 0)
        let resumed = try TrainingRun(resuming: resumption, tuning: tuning, store: store)
        #expect(resumed.trainer?.update == 3)
        #expect(try resumed.train() == .steps)
        let report = try resumed.judge().report
        #expect(report.test.policyReward == whole.report!.test.policyReward)
        #expect(report.policySelection?.update == whole.report!.policySelection?.update)
        #expect(report.policySelection?.trainReward == whole.report!.policySelection?.trainReward)
        #expect(try store.run(id).status == .finished)
        #expect(throws: TrainingRun.Failure.finished(id)) { try TrainingRun.Resumption(id, in: store) }
    }

    /// A run holds its lock while it lives: `tuner runs` shows it running, a second trainer of it
    /// is refused, and a run recorded as running whose lock is free — its process killed — shows
    /// as died.
    @Test func aRunRecordedAsRunningWithoutItsProcessShowsAsDied() throws {
        let (store, folder) = Self.store()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (setup, system) = Self.demo
        let settings = try TrainingSettings(steps: 1024, seed: 2)
        let (tuning, _) = try TrainingRun.offlineTuning(settings, setup: setup, system: system, timings: nil, maxBadLines: 0)
        var run: TrainingRun? = try TrainingRun(.offline(tuning), settings: settings, store: store, record: Self.record(seed: 2))
        let id = try #require(run?.record?.id)
        var seen: [String] = []
        try run?.train(shouldStop: {
            seen.append(store.status(of: try! store.run(id)))
            return false
        })
        #expect(seen == ["running", "running"])
        #expect(store.isLocked(run: id))
        #expect(throws: RunStore.Failure.lock(id, "another process is training it")) { try store.lock(run: id) }
        run = nil
        let record = try store.run(id)
        #expect(!store.isLocked(run: id) && store.status(of: record) == "died")
        #expect(record.status == .running, "the record itself is as the killed process left it")
    }
}

/// Replayed data cannot vary the corpus a service reports, so training draws its size and age per
/// episode. For a corpus ten times smaller or up to a hundred times larger, of any age, the
/// trained policy's choices then score on the train split about as well as its choice for the
/// corpus it was trained on: at most 0.012 lower on average over categories and contexts (seed 1,
/// with the kept stage times, measured 0.0068, 0.054 at worst: it may move between near-ties).
/// Trained on the demo's one corpus without the draws (`robustContext` off), the same seed lost
/// 0.26 on average, 1.12 at worst (a gate breached).
@Suite struct CorpusContextTests {
    /// Stage times measured once on the demo, so the figures do not move with the machine's load.
    static let keptTimes = TrainingRunTests.repository.appendingPathComponent("Tests/TrainingRunsTests/Fixtures/demo-stage-times.json")

    static func losses(robustContext: Bool?) throws -> [Double] {
        let (store, folder) = TrainingRunTests.store()
        defer { try? FileManager.default.removeItem(at: folder) }
        var settings = try TrainingSettings(steps: 40_000, seed: 1)
        settings.environment.robustContext = robustContext
        let (run, _, report) = try TrainingRunTests.run(settings, store: store, timings: try StageTimings.read(from: keptTimes))
        guard case let .offline(tuning) = run.problem else { return [] }
        let policy = try RAGPolicy(bytes: try Data(contentsOf: TrainingRun.policyFile(store, report!.runID)))
        let features = try #require(run.policy?.features)
        let documents = TrainingRunTests.demo.0.dataset.documents.count
        let workspace = tuning.trainCache.makeWorkspace()
        var losses: [Double] = []
        for category in features.categories {
            func reward(_ corpus: Int, _ age: Double?) throws -> Double {
                let chosen = policy.decide(PolicyContext(
                    category: category, faithfulness: 0.9, relevancy: 0.9, latencyP50Milliseconds: 200, latencyP95Milliseconds: 260,
                    costUSD: 0.0002, corpusDocuments: corpus, corpusAgeDays: age)).settings
                return try tuning.trainCache.evaluate(chosen, reward: tuning.setup.reward, workspace: workspace).perCategory[category]!.reward.reward
            }
            let trained = try reward(documents, nil)
            for corpus in [documents / 10, documents * 10, documents * 100] {
                for age in [nil, 0, 30, 1800] as [Double?] { losses.append(max(0, trained - (try reward(corpus, age)))) }
            }
        }
        return losses
    }

    @Test func theChoiceHardlyHangsOnTheCorpusSizeOrAge() throws {
        let losses = try Self.losses(robustContext: true)
        let mean = losses.reduce(0, +) / Double(losses.count)
        print("corpus-context loss: mean \(mean), worst \(losses.max()!)")
        #expect(losses.count == 36 && mean <= 0.012, "mean loss \(mean), worst \(losses.max()!)")
    }
}
