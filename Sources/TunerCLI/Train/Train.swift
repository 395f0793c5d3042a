import ArgumentParser
import Evaluators
import Foundation
import NumericCore
import Pipeline
import PPO
import Reports
import Statistics
import Tracking
import TrainingRuns
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

        @OptionGroup var tracking: MLflowOptions

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
            if remote.isRemote { return try await runOnOwnThread { try trainAgainstEvaluator() } }
            // Its own thread: the MLflow export waits on it between updates.
            try await runOnOwnThread { try trainOffline() }
        }

        func trainOffline() throws {
            let store = try RunStore(folder: URL(fileURLWithPath: out))
            let resumption = try resume.map { try TrainingRun.Resumption($0, in: store) }
            let settings = try resumption?.settings ?? TrainingSettings(
                steps: steps, seed: seed, batchSize: batchSize, overrides: overrides, requestLog: log, selection: select ?? .best)
            var options = data
            options.dataset = resumption?.datasets ?? (data.dataset.isEmpty ? ["datasets/demo"] : data.dataset)
            let context = try options.load()
            if !output.json { context.printHeader() }
            let timings = try resumption?.timings ?? stageTimes.map { try StageTimings.read(from: URL(fileURLWithPath: $0)) }
            let (tuning, replaySummary) = try TrainingRun.offlineTuning(settings, setup: context.setup, system: context.system, timings: timings, maxBadLines: maxBadLines)
            if !output.json, let replaySummary { print(replaySummary) }
            if !output.json, case let unmet = try tuning.unmetGates(), !unmet.isEmpty {
                print(ConfigurationGrid.describe(unmet, split: "train") + "\n(such a category is served the configuration that misses its gates least)")
            }
            let run = try resumption.map { try TrainingRun(resuming: $0, tuning: tuning, store: store) }
                ?? TrainingRun(.offline(tuning), settings: settings, store: store, record: newRecord(options.dataset, context))
            try finish(run, printing: "tuner train --mode offline --out \(out) --resume \(run.record!.id)")
        }

        /// Trains `run` (Ctrl-C stops it after the current update), then judges it and prints the verdict.
        func finish(_ run: TrainingRun, printing resumeCommand: String) throws {
            let interrupt = InterruptFlag()
            interrupt.install()
            if !output.json {
                print("run \(run.record!.id) → \(URL(fileURLWithPath: out).appendingPathComponent(run.record!.id).path)")
                if !run.searches { print(Self.progressLegend) }
            }
            let export = run.store.flatMap(tracking.export(to:))
            var exportFailed = false
            let stop = try run.train(shouldStop: { interrupt.raised }, progress: { progress in
                if !output.json { Self.printProgress(progress, run) }
                guard let export, progress.metrics.update % 10 == 0, !exportFailed, let id = run.record?.id else { return }
                do { _ = try waitOnThisThread { try await export.export(run: id, artifacts: false) } } catch {
                    // The run goes on; the export at the end (or `tuner runs export`) catches up.
                    exportFailed = true
                    Self.warn("MLflow: \(error); training goes on, the run is exported again at the end")
                }
            }, searchProgress: { line in if !output.json { print("search: \(line)") } })
            if stop == .interrupted {
                print(run.searches ? "interrupted during the search. Run again with: \(resumeCommand)"
                                   : "interrupted at update \(run.trainer?.update ?? 0); checkpoint saved. Continue with: \(resumeCommand)")
                throw ExitCode(130)
            }
            if !output.json, stop == .budget, let failure = run.remoteFailure { print("\(failure)") }
            let (report, verdict) = try run.judge()
            let page = try run.store.map { try ReportPage.writeRunReport(report.runID, store: $0) }
            var exported: String?
            if let export, let server = tracking.mlflow {
                do { exported = try waitOnThisThread { try await export.export(run: report.runID) }.link(server) } catch {
                    Self.warn("MLflow: \(error); the run is kept: `tuner runs export \(report.runID) --out \(out) --mlflow \(server)` tries again")
                }
            }
            if output.json { return print(try report.json) }
            defer {
                if let page { print("report: \(page.path)") }
                if let exported { print("mlflow: \(exported)") }
            }
            switch verdict {
            case let .offline(v, selection):
                print(String(format: "\npolicy judged: update %d of 0–%d (%@; train-split reward %.4f, the per-category oracle's %.4f)",
                             selection.update, selection.updates - 1, selection.rule == .best ? "the best on the train split" : "the last",
                             selection.trainReward, selection.oracleTrainReward))
                VerdictTable.printTable(v, wallSeconds: report.wallSeconds,
                                        heldOut: run.settings.requestLog == nil ? "test split" : "held-out requests (the replayed log's last 20%, by time)")
            case let .remote(v, spending):
                Self.printVerdict(v, spending: spending, search: run.search, wallSeconds: report.wallSeconds)
            }
        }

        /// A new offline run's record: what it trains on and with which policy configuration.
        func newRecord(_ datasets: [String], _ context: DatasetOptions.Loaded) -> RunRecord {
            let manifest = context.setup.dataset.manifest
            return RunRecord(
                id: RunStore.newRunID(), experiment: manifest.id, created: Date(), status: .running,
                command: CommandLine.arguments.joined(separator: " "), datasetPath: datasets.joined(separator: "\n"), datasetID: manifest.id,
                datasetCommit: manifest.commit, policyConfigurationHash: context.policyFileHash, projectVersion: TunerVersion.current,
                seed: Int64(seed), hyperparameters: "")
        }

        /// What the progress line's columns mean, printed once above it.
        static let progressLegend = "reward: mean batch reward of the episodes ended in the update; KL: mean approximate KL(old ‖ new) of its minibatches; entropy: the policy's, summed over heads (nats)"

        /// Every tenth update and the last: the update, reward, KL, entropy, what an evaluator run spent, and time.
        static func warn(_ message: String) { FileHandle.standardError.write(Data((message + "\n").utf8)) }

        static func printProgress(_ p: TrainingRun.Progress, _ run: TrainingRun) {
            guard p.metrics.update % 10 == 0 || run.trainer?.isFinished == true else { return }
            var line = String(format: "update %4d/%d  steps %7d  reward %7.4f  KL %.4f  entropy %.3f", p.metrics.update, p.updates, p.steps,
                              p.reward, p.metrics.approximateKL, p.metrics.entropy)
            if case let .remote(tuning) = run.problem { line += "  " + spent(tuning.source.ledger) }
            print(line + String(format: "  %.1f s, ETA %.0f s", p.elapsedSeconds, p.etaSeconds))
        }
    }
}

extension PolicySelection: ExpressibleByArgument {}
