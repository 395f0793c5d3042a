import Evaluators
import Foundation
import Pipeline
import PPO
import Retrieval
import Statistics
import Tracking
import TunerPolicy
import Tuning

/// One training run, from its settings to its verdict: the trainer (new, or resumed from the
/// run's checkpoint), the per-update bookkeeping (metrics in the run store, the best update on
/// the train split, a trainer checkpoint every 25 updates), stopping (when asked, e.g. by
/// Ctrl-C, or at the evaluator budget), the run's status, and at the end the judged policy, the
/// verdict and the artifacts. `tuner train` (offline and `--evaluator`) and the self-improvement
/// loop's hypothesis generator all train through it; without a store nothing is written.
public final class TrainingRun {
    /// What the run learns on and is judged by.
    public enum Problem {
        case offline(OfflineTuning)
        case remote(RemoteTuning)
    }

    /// Why training ended.
    public enum Stop: String, Codable, Sendable {
        case steps, budget, interrupted
    }

    /// One update's progress, for a progress line.
    public struct Progress: Sendable {
        public var metrics: UpdateMetrics
        public var updates: Int
        public var steps: Int
        /// Mean batch reward of the episodes that ended in the update.
        public var reward: Double
        public var elapsedSeconds: Double
        public var etaSeconds: Double
    }

    public let problem: Problem
    public let settings: TrainingSettings
    /// PPO's trainer; nil for a search of knobs other than the built-in pipeline's, which PPO's
    /// environment cannot apply.
    public let trainer: PPOTrainer<RAGTuningEnvironment>?
    /// The run as stored; nil for an untracked run.
    public private(set) var record: RunRecord?
    public private(set) var stoppedBy: Stop?
    /// Each unit's outcome where the run spent its evaluations on the budgeted search.
    public private(set) var search: [BudgetedSearch.UnitResult]?
    public let store: RunStore?
    /// Held while this run lives, so `tuner runs` can tell a live run from one whose process died.
    var lock: RunLock?
    var best: BestPolicy
    let started = ContinuousClock.now

    // MARK: Starting

    /// A new run of `problem`, recorded in `store` as `record` when both are given (the record's
    /// status and settings are set here).
    public init(_ problem: Problem, settings: TrainingSettings, store: RunStore? = nil, record: RunRecord? = nil) throws {
        self.problem = problem
        self.settings = settings
        self.store = store
        switch problem {
        case let .offline(tuning): trainer = try tuning.trainer(settings.ppo)
        case let .remote(tuning): trainer = tuning.search != nil && !tuning.tunesPipelineKnobs ? nil : try tuning.trainer(settings.ppo)
        }
        best = BestPolicy()
        if let store, var record {
            record.status = .running
            record.hyperparameters = try settings.json
            try store.create(record)
            lock = try store.lock(run: record.id)
            self.record = record
        }
        try keepStageTimes()
    }

    /// What continuing an interrupted run needs before its data is loaded: the record, its
    /// settings, its datasets and the stage times it charged.
    public struct Resumption {
        public var record: RunRecord
        public var settings: TrainingSettings
        public var datasets: [String]
        public var timings: StageTimings?

        /// The run `id` (or a unique prefix) of `store`; a finished run cannot be resumed.
        public init(_ id: String, in store: RunStore) throws {
            record = try store.run(id)
            // An ablation's reward weights and k formulation are not in its settings: resumed, it
            // would train on the policy file's.
            guard !record.experiment.hasPrefix(Ablation.experimentPrefix) else { throw Failure.ablation(record.id) }
            guard record.status != .finished else { throw Failure.finished(record.id) }
            guard FileManager.default.fileExists(atPath: TrainingRun.trainerFile(store, record.id).path) else {
                throw Failure.noCheckpoint(record.id)
            }
            settings = try JSONDecoder().decode(TrainingSettings.self, from: Data(record.hyperparameters.utf8))
            // One path per line: a mixed-domain run trains on several.
            datasets = record.datasetPath.split(separator: "\n").map(String.init)
            // Runs from before stage times were kept have none: their resumption measures anew.
            let kept = TrainingRun.stageTimesFile(store, record.id)
            timings = FileManager.default.fileExists(atPath: kept.path) ? try StageTimings.read(from: kept) : nil
        }
    }

    /// Continues an interrupted offline run on the data its resumption named.
    public init(resuming resumption: Resumption, tuning: OfflineTuning, store: RunStore) throws {
        problem = .offline(tuning)
        settings = resumption.settings
        self.store = store
        var record = resumption.record
        // Another process training it holds the lock: two trainers would write one checkpoint.
        lock = try store.lock(run: record.id)
        trainer = try PPOTrainer.resume(from: Self.trainerFile(store, record.id), makeEnvironment: tuning.environments(seed: UInt64(record.seed)))
        // An interrupted run saved its best so far where the finished run keeps its policy; a
        // file there that cannot be read stops the run rather than restart the choice.
        let policyFile = Self.policyFile(store, record.id)
        let saved = settings.keeps == .best && FileManager.default.fileExists(atPath: policyFile.path)
        best = BestPolicy(resuming: saved ? try PolicyCheckpoint.read(from: policyFile) : nil)
        record.status = .running
        try store.update(record)
        self.record = record
        try keepStageTimes()
    }

    /// The offline tuning a run's settings describe on a loaded dataset: its train and test
    /// splits, or the request log it replays (its judged questions in time order); with the
    /// summary of the log when there is one.
    public static func offlineTuning(_ settings: TrainingSettings, setup: EvaluationSetup, system: RetrievalSystem, timings: StageTimings?,
                                     maxBadLines: Double) throws -> (tuning: OfflineTuning, replaySummary: String?) {
        guard let log = settings.requestLog else {
            return (try OfflineTuning(setup: setup, system: system, environmentOptions: settings.environment, timings: timings), nil)
        }
        let judged = Set(setup.dataset.splits.values.flatMap(\.queries))
        let replay = try RequestLog.read(URL(fileURLWithPath: log), dataset: setup.dataset, judged: judged, maxBadLineFraction: maxBadLines)
        let tuning = try OfflineTuning(setup: setup, system: system, train: replay.train, test: replay.test,
                                       environmentOptions: settings.environment, timings: timings)
        return (tuning, "request log \(log): \(replay.summary)")
    }

    public enum Failure: Error, CustomStringConvertible, Equatable {
        case finished(String)
        case noCheckpoint(String)
        case ablation(String)
        public var description: String {
            switch self {
            case let .finished(id): "run \(id) has finished; nothing to resume"
            case let .ablation(id): "run \(id) is one of `tuner ablate`'s runs, which cannot be resumed: run the ablation again"
            case let .noCheckpoint(id): "run \(id) saved no trainer checkpoint (it stopped before its first update ended); start it again"
            }
        }
    }

    // MARK: Training

    /// Trains until the configured steps are spent, `shouldStop` answers true after an update,
    /// or (against an evaluator) the budget is spent. Returns why it stopped; an interrupted
    /// tracked run saves its trainer and can be resumed.
    @discardableResult
    public func train(shouldStop: () -> Bool = { false }, progress: ((Progress) -> Void)? = nil, searchProgress: ((String) -> Void)? = nil) throws -> Stop {
        if case let .remote(tuning) = problem, let searcher = tuning.budgetedSearch {
            do {
                search = try searcher.run(shouldStop: shouldStop, progress: searchProgress)
            } catch {
                try? setStatus(.failed)
                throw error
            }
            if shouldStop() {
                stoppedBy = .interrupted
                try setStatus(.interrupted)
                lock = nil
            } else {
                stoppedBy = tuning.source.ledger.budget.queries == nil && tuning.source.ledger.budget.usd == nil ? .steps : .budget
            }
            return stoppedBy!
        }
        guard let trainer else { preconditionFailure("a run without a trainer searches") }
        do {
            var failure: (any Error)?
            var interrupted = false
            do {
                try trainer.train { metrics in
                    do { try afterUpdate(metrics, progress: progress) } catch {
                        failure = error
                        return false
                    }
                    interrupted = shouldStop()
                    return !interrupted
                }
            } catch where budgetSpent(error) {
                // The budget ends tuning, not the run: the policy of the last whole update is judged.
                stoppedBy = .budget
            }
            if let failure { throw failure }
            if stoppedBy == nil { stoppedBy = interrupted && !trainer.isFinished ? .interrupted : .steps }
            if case .offline = problem, let store, let id = record?.id {
                try trainer.saveCheckpoint(to: Self.trainerFile(store, id))
                try store.addArtifact(run: id, name: "trainer-checkpoint", file: "trainer.ckpt")
            }
            if stoppedBy == .interrupted {
                try setStatus(.interrupted)
                lock = nil  // saved and stopped: free to resume
            }
            return stoppedBy!
        } catch {
            try? setStatus(.failed)
            throw remoteFailure ?? error
        }
    }

    /// Whether the run spends its evaluations on the budgeted search rather than on PPO.
    public var searches: Bool {
        guard case let .remote(tuning) = problem else { return false }
        return tuning.budgetedSearch != nil
    }

    /// The policy the run judges and deploys: its best update on the train split, or its last,
    /// carrying the knobs it was trained under; nil for a run without a trainer.
    public var policy: PolicyCheckpoint? {
        (best.checkpoint ?? trainer?.checkpoint).map { checkpoint in
            var carrying = checkpoint
            carrying.knobs = knobs
            return carrying
        }
    }

    /// The knobs the run tunes, as its policy file (or its evaluator) declared them.
    public var knobs: KnobDeclaration? {
        switch problem {
        case let .offline(tuning): try? tuning.setup.policy.knobs()
        case let .remote(tuning): tuning.knobs
        }
    }

    func afterUpdate(_ metrics: UpdateMetrics, progress: ((Progress) -> Void)?) throws {
        let batches = Double(settings.environment.batchesPerEpisode)
        var logged = [
            "reward": (metrics.meanEpisodeReturn ?? .nan) / batches, "approx_kl": metrics.approximateKL, "entropy": metrics.entropy,
            "policy_loss": metrics.policyLoss, "value_loss": metrics.valueLoss, "learning_rate": metrics.learningRate,
            "clip_fraction": metrics.clipFraction, "explained_variance": metrics.explainedVariance, "steps_per_second": metrics.stepsPerSecond,
        ]
        guard let trainer else { return }
        if settings.keeps == .best, case let .offline(tuning) = problem {
            let scored = try best.consider(trainer.checkpoint, update: metrics.update, tuning: tuning)
            let train = scored.report
            logged["train_reward"] = scored.trainReward
            logged["train_latency_p50_ms"] = train.overall.latencyP50Milliseconds
            logged["train_latency_p95_ms"] = train.overall.latencyP95Milliseconds
            logged["train_cost_usd"] = train.overall.costUSD
            // The report's pages mark an update whose configurations breach a category's gates on train.
            logged["train_gate_breaches"] = Double(train.perCategory.values.filter { !$0.gatesPassed }.count)
            if scored.kept, let store, let id = record?.id { try policy!.write(to: Self.policyFile(store, id)) }
        }
        if let store, let id = record?.id {
            try? store.log(run: id, update: metrics.update, step: metrics.globalStep, metrics: logged)
            if case .offline = problem, metrics.update % 25 == 0 { try? trainer.saveCheckpoint(to: Self.trainerFile(store, id)) }
        }
        guard let progress else { return }
        let elapsed = Self.seconds(ContinuousClock.now - started)
        let total = trainer.configuration.updateCount
        progress(Progress(
            metrics: metrics, updates: total, steps: trainer.globalStep, reward: logged["reward"]!, elapsedSeconds: elapsed,
            etaSeconds: elapsed / Double(max(trainer.update, 1)) * Double(total - trainer.update)))
    }

    /// Whether `error` (or the failure the evaluator source kept behind it) is the budget's end.
    func budgetSpent(_ error: any Error) -> Bool {
        guard case .remote = problem else { return false }
        return (remoteFailure ?? error) is EvaluationLedger.Exhausted
    }

    /// A NaN reward from the environment means the evaluator failed: the source keeps why.
    public var remoteFailure: (any Error)? {
        guard case let .remote(tuning) = problem else { return nil }
        return tuning.source.batchSource.lastFailure
    }

    // MARK: Judging

    /// Saves the judged policy, judges it on the held-out split, writes the artifacts and
    /// records the run as finished with its report.
    public func judge() throws -> (report: RunReport, verdict: Verdict) {
        do {
            func save(_ checkpoint: PolicyCheckpoint) throws {
                guard let store, let id = record?.id else { return }
                try checkpoint.write(to: Self.policyFile(store, id))
                try store.addArtifact(run: id, name: "policy-checkpoint", file: "policy.ckpt")
            }
            let bootstrap = Bootstrap(seed: settings.ppo.seed)
            let id = record?.id ?? ""
            let verdict: Verdict
            var report: RunReport
            switch problem {
            case let .offline(tuning):
                guard var checkpoint = policy, let trainer else { preconditionFailure("an offline run has a trainer") }
                let v = try tuning.verdict(policy: Policy(checkpoint: checkpoint), bootstrap: bootstrap)
                // The checkpoint serves what the verdict judged: the categories without evidence
                // for their own configuration get the shared one.
                checkpoint.sharedSettings = v.bestStaticConfiguration
                checkpoint.sharedCategories = v.sharedCategories
                try save(checkpoint)
                if let store, let id = record?.id { try RunArtifacts.write(v, policy: Policy(checkpoint: checkpoint), tuning: tuning, store: store, run: id) }
                // Updates are numbered from 0, as in the run's logged metrics.
                let selection = RunReport.Selection(
                    rule: settings.keeps, update: checkpoint.selection?.update ?? trainer.update - 1, updates: trainer.configuration.updateCount,
                    trainReward: try checkpoint.selection?.score ?? tuning.trainReward(Policy(checkpoint: checkpoint)),
                    oracleTrainReward: v.oracleTrainReward)
                verdict = .offline(v, selection)
                report = RunReport(v, runID: id, dataset: tuning.setup.dataset.manifest.id, wallSeconds: 0, selection: selection)
            case let .remote(tuning):
                // A searched run serves each unit's choice to the unit's categories.
                var fixed: [String: Configuration] = [:]
                for unit in search ?? [] { for category in unit.categories { fixed[category] = unit.chosen } }
                var checkpoint = policy
                checkpoint?.categorySettings = fixed
                // A searched run's network was never trained: a category it never saw is served
                // the service's own default, as a configuration table serves one.
                if search != nil, checkpoint != nil { checkpoint?.sharedSettings = try RAGSettings(tuning.defaultConfiguration) }
                if let checkpoint {
                    try save(checkpoint)
                } else if let knobs = tuning.knobs, let store, let id = record?.id {
                    // No network over a service's own knobs: what it serves is the table of the
                    // search's choices, and its own defaults to a category never tuned.
                    try ConfigurationTable(knobs: knobs, categories: fixed, unseen: knobs.defaults).write(to: Self.policyFile(store, id))
                    try store.addArtifact(run: id, name: "configuration-table", file: "policy.ckpt")
                }
                let v = try tuning.verdict(policy: checkpoint.map(Policy.init(checkpoint:)), fixed: fixed, bootstrap: bootstrap)
                verdict = .remote(v, tuning.source.ledger.spending)
                report = RunReport(v, runID: id, evaluators: record?.datasetPath.split(separator: "\n").map(String.init) ?? [],
                                   spending: tuning.source.ledger.spending, stoppedBy: stoppedBy ?? .steps, search: search, wallSeconds: 0)
            }
            let wall = Self.seconds(ContinuousClock.now - started)
            report.wallSeconds = wall
            if let store, var record {
                record.status = .finished
                record.wallSeconds = wall
                record.verdict = try report.json
                try store.update(record)
                self.record = record
            }
            lock = nil
            return (report, verdict)
        } catch {
            try? setStatus(.failed)
            throw remoteFailure ?? error
        }
    }

    /// A verdict with what judging it needed beside it.
    public enum Verdict {
        case offline(OfflineTuning.Verdict, RunReport.Selection)
        case remote(RemoteTuning.Verdict, EvaluationLedger.Spending)
    }

    // MARK: Files

    public static func trainerFile(_ store: RunStore, _ run: String) -> URL { store.runFolder(run).appendingPathComponent("trainer.ckpt") }
    public static func policyFile(_ store: RunStore, _ run: String) -> URL { store.runFolder(run).appendingPathComponent("policy.ckpt") }
    public static func stageTimesFile(_ store: RunStore, _ run: String) -> URL { store.runFolder(run).appendingPathComponent("stage-times.json") }

    /// An offline run keeps the stage times it charges, so a resumed or repeated run charges them again.
    func keepStageTimes() throws {
        guard case let .offline(tuning) = problem, let store, let id = record?.id else { return }
        try tuning.timings.write(to: Self.stageTimesFile(store, id))
        try store.addArtifact(run: id, name: "stage-times", file: "stage-times.json")
    }

    func setStatus(_ status: RunStatus) throws {
        if status == .finished || status == .failed { lock = nil }
        guard let store, var record else { return }
        record.status = status
        try store.update(record)
        self.record = record
    }

    public static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}
