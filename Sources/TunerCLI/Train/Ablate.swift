import ArgumentParser
import Evaluators
import Foundation
import NumericCore
import Reports
import Tracking
import TrainingRuns
import Tuning

extension Tuner {
    struct Ablate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The specification's ablations on a dataset: reward weights swept, each head frozen, k's two formulations.",
            discussion: """
                Each ablation is an offline training run tracked like any other (experiment ablate:<dataset>, \
                its change in the run's command): the baseline; the latency weight γ and the cost weight δ \
                each over --gamma and --delta, the other weights unchanged, so the chosen configuration moves \
                along the cost–quality frontier; each action head held at the default configuration's value \
                in turn; and k learnt with the formulation the policy configuration does not use (a softmax \
                over every k, or a log-normal over log k). The fusion weight is learnt as a continuous head \
                only. Prints one verdict per run with its intervals and writes one report page of all of them.
                """)

        @OptionGroup var data: DatasetOptions

        @Option(help: "Environment steps per run.")
        var steps = 40_000

        @Option(help: "Seed of every run.")
        var seed: UInt64 = 1

        @Option(parsing: .upToNextOption, help: "Latency weights γ to sweep.")
        var gamma: [Double] = [0.05, 0.5, 1.0]

        @Option(parsing: .upToNextOption, help: "Cost weights δ to sweep.")
        var delta: [Double] = [0.05, 0.5, 1.0]

        @Option(help: "Run store: runs.sqlite and one folder of artifacts per run.")
        var out = "runs"

        @Option(name: .customLong("html"), help: "Where to write the page of every ablation run (default: ablation-<dataset>-<first run>.html in the store).")
        var html: String?

        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard steps >= 1_000 else { throw ValidationError("--steps must be at least 1,000, got \(steps)") }
            for (name, values) in [("--gamma", gamma), ("--delta", delta)] {
                guard values.allSatisfy({ $0.isFinite && $0 >= 0 }) else { throw ValidationError("\(name) values must be finite and ≥ 0, got \(values)") }
            }
        }

        func run() async throws {
            BLAS.setThreads(1)
            try await runOnOwnThread { try ablate() }
        }

        /// One row of the table and of `--json`.
        struct Row: Encodable {
            var ablation: String
            var group: Ablation.Group
            var runID: String
            var report: RunReport

            enum CodingKeys: String, CodingKey {
                case ablation, group, report
                case runID = "run_id"
            }
        }

        func ablate() throws {
            let store = try RunStore(folder: URL(fileURLWithPath: out))
            var options = data
            if options.dataset.isEmpty { options.dataset = ["datasets/demo"] }
            let context = try options.load()
            if !output.json { context.printHeader() }
            let base = try TrainingSettings(steps: steps, seed: seed)
            let manifest = context.setup.dataset.manifest
            var rows: [Row] = []
            if !output.json { print(Self.header) }
            for ablation in Ablation.plan(gammas: gamma, deltas: delta, policy: context.setup.policy) {
                let (setup, settings) = ablation.applied(to: context.setup, base)
                let tuning = try OfflineTuning(setup: setup, system: context.system, environmentOptions: settings.environment)
                let record = RunRecord(
                    id: RunStore.newRunID(), experiment: Ablation.experimentPrefix + manifest.id, created: Date(), status: .running,
                    command: CommandLine.arguments.joined(separator: " ") + " [ablation \(ablation.name)]",
                    datasetPath: options.dataset.joined(separator: "\n"), datasetID: manifest.id, datasetCommit: manifest.commit,
                    policyConfigurationHash: context.policyFileHash, projectVersion: TunerVersion.current, seed: Int64(seed), hyperparameters: "")
                let run = try TrainingRun(.offline(tuning), settings: settings, store: store, record: record)
                try run.train()
                let (report, _) = try run.judge()
                try ReportPage.writeRunReport(report.runID, store: store)
                rows.append(Row(ablation: ablation.name, group: ablation.group, runID: report.runID, report: report))
                if !output.json { print(Self.line(rows.last!)) }
            }
            let page = html.map { URL(fileURLWithPath: $0) }
                ?? store.folder.appendingPathComponent("ablation-\(manifest.id)-\(rows[0].runID).html")
            try ReportPage(runs: try rows.map { try RunData(run: $0.runID, store: store) }, labels: rows.map(\.ablation)).write(to: page)
            if output.json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(["ablations": rows]), as: UTF8.self))
            } else {
                print("report: \(page.path)")
            }
        }

        static let header = "ablation              run id                       F      R      p95 ms  cost/q $   reward   gain vs default [95% CI]       gain vs best static [95% CI]"

        static func line(_ row: Row) -> String {
            let t = row.report.test
            func interval(_ i: RunReport.Interval?) -> String {
                i.map { String(format: "%+.4f [%+.4f, %+.4f]", $0.mean, $0.ciLow, $0.ciHigh) } ?? "-"
            }
            let p = t.policy
            let figures = p.map { String(format: "%.3f  %.3f  %7.1f  %.6f", $0.faithfulness, $0.relevancy, $0.latencyP95Milliseconds, $0.costUSD) } ?? ""
            return row.ablation.padding(toLength: 22, withPad: " ", startingAt: 0) + row.runID.padding(toLength: 29, withPad: " ", startingAt: 0)
                + figures + String(format: "  %7.4f  ", t.policyReward) + interval(t.gainVsDefault).padding(toLength: 31, withPad: " ", startingAt: 0)
                + interval(t.gainVsBestStatic)
        }
    }
}
