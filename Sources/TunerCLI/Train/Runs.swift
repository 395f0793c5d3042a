import ArgumentParser
import Foundation
import MLflow
import Tracking

extension Tuner {
    struct Runs: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List, show and compare tracked training runs.",
            subcommands: [List.self, Show.self, Compare.self, Export.self])

        struct StoreOption: ParsableArguments {
            @Option(help: "Run store folder (holds runs.sqlite).")
            var out = "runs"

            func open() throws -> RunStore {
                guard FileManager.default.fileExists(atPath: URL(fileURLWithPath: out).appendingPathComponent("runs.sqlite").path) else {
                    throw ValidationError("no run store in '\(out)' (tuner train writes one)")
                }
                return try RunStore(folder: URL(fileURLWithPath: out))
            }
        }

        /// The test-split figures of a finished run's verdict.
        static func testFigures(_ run: RunRecord) -> [String: Any]? {
            guard let verdict = run.verdict, let object = try? JSONSerialization.jsonObject(with: Data(verdict.utf8)) as? [String: Any] else { return nil }
            return object["test"] as? [String: Any]
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "One line per run, newest first.")
            @OptionGroup var store: StoreOption

            func run() throws {
                let store = try store.open()
                let runs = try store.runs()
                print("run id                      status       dataset       seed   policy reward   wall s")
                for r in runs {
                    let reward = (Runs.testFigures(r)?["policy_reward"] as? Double).map { String(format: "%13.4f", $0) } ?? "            -"
                    let wall = r.wallSeconds.map { String(format: "%8.1f", $0) } ?? "       -"
                    print(r.id.padding(toLength: 28, withPad: " ", startingAt: 0) + store.status(of: r).padding(toLength: 13, withPad: " ", startingAt: 0)
                          + r.datasetID.padding(toLength: 14, withPad: " ", startingAt: 0) + String(format: "%4d", r.seed) + "  " + reward + "  " + wall)
                }
            }
        }

        struct Show: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "A run's settings, verdict, last metrics and artifacts.")
            @OptionGroup var store: StoreOption
            @Argument(help: "Run id or a unique prefix.") var id: String

            func run() throws {
                let store = try store.open()
                let r = try store.run(id)
                print("run \(r.id) (\(store.status(of: r))), experiment \(r.experiment), created \(r.created)")
                print("command: \(r.command)")
                print("dataset: \(r.datasetID) at \(r.datasetPath)\(r.datasetCommit.map { ", commit \($0)" } ?? "")")
                print("policy configuration: \(r.policyConfigurationHash); tuner \(r.projectVersion); seed \(r.seed)")
                print("hyperparameters: \(r.hyperparameters)")
                let metrics = try store.metrics(run: r.id)
                if let last = metrics.map(\.update).max() {
                    let values = metrics.filter { $0.update == last }.map { "\($0.name) \(String(format: "%.4g", $0.value))" }
                    print("update \(last): " + values.joined(separator: ", "))
                }
                if let verdict = r.verdict { print("verdict: \(verdict)") }
                for a in try store.artifacts(run: r.id) { print("artifact \(a.name): \(store.folder.appendingPathComponent(a.path).path)") }
            }
        }

        struct Export: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Export a run to MLflow: params, tags, metric history, test metrics, artifacts; a second export updates it.")
            @OptionGroup var store: StoreOption
            @OptionGroup var tracking: MLflowOptions
            @Argument(help: "Run id or a unique prefix.") var id: String

            func validate() throws {
                guard tracking.mlflow != nil else { throw ValidationError("--mlflow URL names the tracking server to export to") }
            }

            func run() async throws {
                let export = try tracking.export(to: store.open())!
                let result = try await export.export(run: id)
                print("\(result.created ? "created" : "updated") \(result.link(tracking.mlflow!)): \(result.params) params, "
                      + "\(result.metricsSent) metric values sent, \(result.artifacts.count) artifacts")
            }
        }

        struct Compare: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Two runs' test verdicts side by side.")
            @OptionGroup var store: StoreOption
            @Argument(help: "First run.") var first: String
            @Argument(help: "Second run.") var second: String

            func run() throws {
                let store = try store.open()
                let a = try store.run(first)
                let b = try store.run(second)
                guard let fa = Runs.testFigures(a), let fb = Runs.testFigures(b) else {
                    throw ValidationError("both runs need a verdict (finished runs)")
                }
                print("".padding(toLength: 22, withPad: " ", startingAt: 0) + a.id.padding(toLength: 28, withPad: " ", startingAt: 0) + b.id)
                for key in ["policy_reward", "default_static_reward", "best_static_reward", "oracle_reward"] {
                    let x = fa[key] as? Double ?? .nan
                    let y = fb[key] as? Double ?? .nan
                    print(key.padding(toLength: 22, withPad: " ", startingAt: 0) + String(format: "%-28.4f%-12.4f  Δ %+.4f", x, y, y - x))
                }
                for key in ["gain_vs_default", "gain_vs_best_static"] {
                    func text(_ f: [String: Any]) -> String {
                        guard let g = f[key] as? [String: Double] else { return "-" }
                        return String(format: "%+.4f [%+.4f, %+.4f]", g["mean"] ?? .nan, g["ci_low"] ?? .nan, g["ci_high"] ?? .nan)
                    }
                    print(key.padding(toLength: 22, withPad: " ", startingAt: 0) + text(fa).padding(toLength: 28, withPad: " ", startingAt: 0) + text(fb))
                }
                print("gate_violations".padding(toLength: 22, withPad: " ", startingAt: 0)
                      + "\(fa["gate_violations"] ?? "-")".padding(toLength: 28, withPad: " ", startingAt: 0) + "\(fb["gate_violations"] ?? "-")")
                print("seed / wall s".padding(toLength: 22, withPad: " ", startingAt: 0)
                      + "\(a.seed) / \(a.wallSeconds.map { String(format: "%.1f", $0) } ?? "-")".padding(toLength: 28, withPad: " ", startingAt: 0)
                      + "\(b.seed) / \(b.wallSeconds.map { String(format: "%.1f", $0) } ?? "-")")
            }
        }
    }
}
