import ArgumentParser
import Evaluators
import Foundation
import NumericCore
import Pipeline
import PPO
import Statistics
import Tracking
import TunerPolicy
import Tuning

extension Tuner {
    struct Train: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Learn a per-category RAG configuration with PPO and judge it on the held-out split.",
            discussion: """
                --mode offline trains on the train split of a frozen dataset slice through the evaluation \
                cache, then compares the learned configurations on the test split with the default static \
                configuration, the best static configuration of the grid and the per-category oracle (both \
                chosen on the train split), as paired differences with 95% bootstrap intervals. Every run is \
                tracked in OUT/runs.sqlite with its artifacts in OUT/<run id>/ (see `tuner runs`); Ctrl-C \
                saves a checkpoint, and --resume RUN continues it. Latency is partly measured: each run keeps \
                the stage times it charged (OUT/<run id>/stage-times.json), a resumed run charges them again, \
                and --stage-times FILE makes a new run charge them, so the same seed repeats the run exactly. \
                The policy judged and saved (OUT/<run id>/policy.ckpt) is, by default, the update whose \
                configurations scored best on the whole train split (--select last: the last update).
                """)

        enum Mode: String, ExpressibleByArgument { case offline }

        @Option(help: "Training mode: offline.")
        var mode: Mode

        @OptionGroup var data: DatasetOptions

        @Option(help: "Replay a request log (JSON lines: timestamp, question, …) over the dataset: its judged questions, in time order, are the train (first 80%) and validation slices.")
        var log: String?

        @Option(help: "Share of malformed request-log lines tolerated (counted and reported) before the log is refused.")
        var maxBadLines = 0.01

        @OptionGroup var remote: EvaluatorOptions

        @Option(help: "Environment steps (batches of queries) to train for.")
        var steps = 40_000

        @Option(help: "Queries per batch.")
        var batchSize = RAGTuningEnvironment.Options().batchSize

        @Option(help: "Seed of the trainer, the environments and the bootstrap.")
        var seed: UInt64 = 1

        @Option(name: .customLong("set"), help: "Override a PPO hyperparameter: --set epochs=10, or one head's entry: --set entropyCoefficientByHead.k=0.01 (repeatable).")
        var overrides: [String] = []

        @Option(help: "Run store: runs.sqlite and one folder of artifacts per run.")
        var out = "runs"

        @Option(help: "Continue an interrupted run (its id or a unique prefix).")
        var resume: String?

        @Option(help: "Which update's policy to judge and keep: best (its configurations score highest on the train split; the default) or last.")
        var select: PolicySelection?

        @Option(help: "Charge the stage times in this file (a run's stage-times.json) instead of measuring them: with the run's seed and settings it repeats the run exactly.")
        var stageTimes: String?

        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard steps >= 1_000 else { throw ValidationError("--steps must be at least 1,000, got \(steps)") }
            guard (10...5_000).contains(batchSize) else { throw ValidationError("--batch-size must lie in 10...5000, got \(batchSize)") }
            guard (0...1).contains(maxBadLines) else { throw ValidationError("--max-bad-lines must lie in [0, 1]") }
            guard resume == nil || stageTimes == nil else {
                throw ValidationError("--resume charges the run's own stage times: it cannot be combined with --stage-times")
            }
            guard resume == nil || select == nil else { throw ValidationError("--resume keeps the run's own --select") }
            // A bad --set is reported before any data is loaded.
            do { _ = try PPOConfiguration.ragTuning.applying(overrides: overrides) } catch { throw ValidationError("--set: \(error)") }
            if remote.isRemote {
                guard data.dataset.isEmpty, log == nil, resume == nil, stageTimes == nil else {
                    throw ValidationError("--evaluator brings its own data: it cannot be combined with --dataset, --log, --resume or --stage-times")
                }
                guard select != .best else {
                    throw ValidationError("--evaluator keeps the last update: choosing the best would score every update on the remote service")
                }
            }
        }

        func run() async throws {
            BLAS.setThreads(1)
            if remote.isRemote {
                try await runOnOwnThread { try trainAgainstEvaluator() }
                return
            }
            let clock = ContinuousClock.now
            let store = try RunStore(folder: URL(fileURLWithPath: out))
            var record: RunRecord
            var options = data
            var environmentOptions = RAGTuningEnvironment.Options()
            var requestLog = log
            var selection = select ?? .best
            var timings = try stageTimes.map { try StageTimings.read(from: URL(fileURLWithPath: $0)) }
            if let resume {
                record = try store.run(resume)
                guard record.status != "finished" else { throw ValidationError("run \(record.id) has finished; nothing to resume") }
                options.dataset = record.datasetPath.split(separator: "\n").map(String.init)
                let stored = try JSONDecoder().decode(Hyperparameters.self, from: Data(record.hyperparameters.utf8))
                environmentOptions = stored.environment
                requestLog = stored.requestLog
                // Runs from before the choice was stored kept their last update.
                selection = stored.selection ?? .last
                // Runs from before stage times were kept have none: their resumption measures anew.
                let kept = Self.stageTimesFile(store, record.id)
                if FileManager.default.fileExists(atPath: kept.path) { timings = try StageTimings.read(from: kept) }
            } else {
                environmentOptions.batchSize = batchSize
                record = RunRecord(
                    id: RunStore.newRunID(), experiment: "", created: Date(), status: "running",
                    command: CommandLine.arguments.joined(separator: " "), datasetPath: "", datasetID: "", datasetCommit: nil,
                    policyConfigurationHash: "", projectVersion: TunerVersion.current, seed: Int64(seed), hyperparameters: "")
            }
            let context = try options.load(defaultDataset: "datasets/demo")
            if !output.json { context.printHeader() }
            let tuning: OfflineTuning
            if let requestLog {
                let judged = Set(context.setup.dataset.splits.values.flatMap(\.queries))
                let replay = try RequestLog.read(URL(fileURLWithPath: requestLog), dataset: context.setup.dataset, judged: judged, maxBadLineFraction: maxBadLines)
                if !output.json { print("request log \(requestLog): \(replay.summary)") }
                tuning = try OfflineTuning(setup: context.setup, system: context.system, train: replay.train, test: replay.test,
                                           environmentOptions: environmentOptions, timings: timings)
            } else {
                tuning = try OfflineTuning(setup: context.setup, system: context.system, environmentOptions: environmentOptions, timings: timings)
            }
            let trainer: PPOTrainer<RAGTuningEnvironment>
            if resume != nil {
                trainer = try PPOTrainer.resume(from: Self.trainerFile(store, record.id), makeEnvironment: tuning.environments(seed: UInt64(record.seed)))
                if !output.json { print("resuming run \(record.id) at update \(trainer.update) of \(trainer.configuration.updateCount)") }
            } else {
                var ppo = try PPOConfiguration.ragTuning.applying(overrides: overrides)
                ppo.totalSteps = steps
                ppo.seed = seed
                trainer = try tuning.trainer(ppo)
                let manifest = context.setup.dataset.manifest
                record.experiment = manifest.id
                // One path per line: a mixed-domain run trains on several.
                record.datasetPath = (data.dataset.isEmpty ? ["datasets/demo"] : data.dataset).joined(separator: "\n")
                record.datasetID = manifest.id
                record.datasetCommit = manifest.commit
                record.policyConfigurationHash = context.policyFileHash
                record.hyperparameters = String(decoding: try JSONEncoder.sorted.encode(Hyperparameters(ppo: ppo, environment: environmentOptions, requestLog: requestLog, selection: selection)), as: UTF8.self)
                try store.create(record)
            }
            try tuning.timings.write(to: Self.stageTimesFile(store, record.id))
            try store.addArtifact(run: record.id, name: "stage-times", file: "stage-times.json")
            if !output.json { print("run \(record.id) → \(store.runFolder(record.id).path)") }

            do {
                try train(trainer, tuning: tuning, store: store, record: &record, clock: clock, options: environmentOptions, selection: selection)
            } catch {
                record.status = "failed"
                try? store.update(record)
                throw error
            }
        }

        /// Trains, saves and judges; `record` ends interrupted or finished.
        private func train(
            _ trainer: PPOTrainer<RAGTuningEnvironment>, tuning: OfflineTuning, store: RunStore, record: inout RunRecord,
            clock: ContinuousClock.Instant, options environmentOptions: RAGTuningEnvironment.Options, selection: PolicySelection
        ) throws {
            let runFolder = store.runFolder(record.id)
            let trainerFile = Self.trainerFile(store, record.id)
            let policyFile = runFolder.appendingPathComponent("policy.ckpt")
            let runID = record.id
            // An interrupted run saved its best so far where the finished run keeps its policy; a
            // file there that cannot be read stops the run rather than restart the choice.
            let saved = selection == .best && FileManager.default.fileExists(atPath: policyFile.path)
            var best = BestPolicy(resuming: saved ? try PolicyCheckpoint.read(from: policyFile) : nil)
            var failure: (any Error)?
            let interrupt = InterruptFlag()
            interrupt.install()
            if !output.json { print(Self.progressLegend) }
            try trainer.train { metrics in
                var logged = Self.numbers(metrics, batches: environmentOptions.batchesPerEpisode)
                if selection == .best {
                    do {
                        let scored = try best.consider(trainer.checkpoint, update: metrics.update, tuning: tuning)
                        logged["train_reward"] = scored.trainReward
                        if scored.kept { try best.checkpoint!.write(to: policyFile) }
                    } catch {
                        failure = error
                        return false
                    }
                }
                try? store.log(run: runID, update: metrics.update, step: metrics.globalStep, metrics: logged)
                if metrics.update % 25 == 0 { try? trainer.saveCheckpoint(to: trainerFile) }
                if !output.json && (metrics.update % 10 == 0 || trainer.isFinished) {
                    let elapsed = Self.seconds(ContinuousClock.now - clock)
                    let eta = elapsed / Double(max(trainer.update, 1)) * Double(trainer.configuration.updateCount - trainer.update)
                    print(String(format: "update %4d/%d  steps %7d  reward %7.4f  KL %.4f  entropy %.3f  %.1f s, ETA %.0f s",
                                 metrics.update, trainer.configuration.updateCount, trainer.globalStep,
                                 (metrics.meanEpisodeReturn ?? .nan) / Double(environmentOptions.batchesPerEpisode),
                                 metrics.approximateKL, metrics.entropy, elapsed, eta))
                }
                return !interrupt.raised
            }
            if let failure { throw failure }
            try trainer.saveCheckpoint(to: trainerFile)
            try store.addArtifact(run: runID, name: "trainer-checkpoint", file: "trainer.ckpt")
            if interrupt.raised {
                record.status = "interrupted"
                try store.update(record)
                print("interrupted at update \(trainer.update); checkpoint saved. Continue with: tuner train --mode offline --out \(out) --resume \(runID)")
                return
            }

            let checkpoint = best.checkpoint ?? trainer.checkpoint
            try checkpoint.write(to: policyFile)
            try store.addArtifact(run: runID, name: "policy-checkpoint", file: "policy.ckpt")
            let policy = Policy(checkpoint: checkpoint)
            // Updates are numbered from 0, as in the run's logged metrics.
            let judged = (update: checkpoint.selection?.update ?? trainer.update - 1, trainReward: try checkpoint.selection?.score ?? tuning.trainReward(policy))
            let verdict = try tuning.verdict(policy: policy, bootstrap: Bootstrap(seed: UInt64(record.seed)))
            try RunArtifacts.write(verdict, tuning: tuning, store: store, run: runID)
            let wall = Self.seconds(ContinuousClock.now - clock)
            var object = ReportJSON.verdict(verdict, wallSeconds: wall, dataset: tuning.setup.dataset.manifest.id)
            object["run_id"] = runID
            object["policy_selection"] = [
                "rule": selection.rawValue, "update": judged.update, "updates": trainer.configuration.updateCount, "train_reward": judged.trainReward,
                "oracle_train_reward": verdict.oracleTrainReward,
            ] as [String: Any]
            record.status = "finished"
            record.wallSeconds = wall
            record.verdict = String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
            try store.update(record)
            if output.json {
                try ReportJSON.print(object)
            } else {
                print(String(format: "\npolicy judged: update %d of 0–%d (%@; train-split reward %.4f, the per-category oracle's %.4f)",
                             judged.update, trainer.configuration.updateCount - 1,
                             selection == .best ? "the best on the train split" : "the last", judged.trainReward, verdict.oracleTrainReward))
                let replayed = (try? JSONDecoder().decode(Hyperparameters.self, from: Data(record.hyperparameters.utf8)))?.requestLog
                VerdictTable.printTable(verdict, wallSeconds: wall,
                                        heldOut: replayed == nil ? "test split" : "held-out requests (the replayed log's last 20%, by time)")
            }
        }

        /// Where a run's trainer checkpoint lives (saved periodically, on Ctrl-C and at the end).
        /// What the progress line's columns mean, printed once above it.
        static let progressLegend = "reward: mean batch reward of the episodes ended in the update; KL: mean approximate KL(old ‖ new) of its minibatches; entropy: the policy's, summed over heads (nats)"

        static func trainerFile(_ store: RunStore, _ run: String) -> URL {
            store.runFolder(run).appendingPathComponent("trainer.ckpt")
        }

        static func stageTimesFile(_ store: RunStore, _ run: String) -> URL {
            store.runFolder(run).appendingPathComponent("stage-times.json")
        }

        static func seconds(_ d: Duration) -> Double {
            Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        }

        static func numbers(_ m: UpdateMetrics, batches: Int) -> [String: Double] {
            [
                "reward": (m.meanEpisodeReturn ?? .nan) / Double(batches), "approx_kl": m.approximateKL, "entropy": m.entropy,
                "policy_loss": m.policyLoss, "value_loss": m.valueLoss, "learning_rate": m.learningRate, "clip_fraction": m.clipFraction,
                "explained_variance": m.explainedVariance, "steps_per_second": m.stepsPerSecond,
            ]
        }
    }
}

/// Everything a run was configured with, stored with it (and read back to resume it).
struct Hyperparameters: Codable {
    var ppo: PPOConfiguration
    var environment: RAGTuningEnvironment.Options
    /// The request log a run replays, if any.
    var requestLog: String?
    /// Which update's policy the run keeps; nil in runs from before it was stored (they kept the last).
    var selection: PolicySelection?
}

extension PolicySelection: ExpressibleByArgument {}

/// Ctrl-C asks the training loop to stop after the current update instead of killing it.
final class InterruptFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    private var source: DispatchSourceSignal?

    var raised: Bool {
        lock.lock()
        defer { lock.unlock() }
        return value
    }

    func install() {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { [self] in
            lock.lock()
            value = true
            lock.unlock()
        }
        source.resume()
        self.source = source
    }
}
