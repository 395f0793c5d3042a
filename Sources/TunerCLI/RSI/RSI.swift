import ArgumentParser
import Foundation
import RSI
import Scoring
import Tracking

extension Tuner {
    struct RSICommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rsi",
            abstract: "The self-improvement loop: analyse, hypothesise, validate, test, deploy and roll back, learn.",
            subcommands: [Run.self, Review.self, Experience.self, Analyse.self, Versions.self, Commit.self, Deploy.self])
    }
}

/// Where the version store lives.
struct VersionStoreOptions: ParsableArguments {
    @Option(help: "Version store (SQLite, WAL).")
    var store = "rsi/versions.sqlite"

    @Option(help: "Experience database whose audit trail records every move of production.")
    var experience = "rsi/experience.sqlite"

    func open() throws -> VersionStore { try VersionStore(path: URL(fileURLWithPath: store)) }
}

extension Tuner.RSICommand {
    struct Analyse: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The performance analyser: a decision log's window per category and configuration, drift, findings, and the analysis gate.")

        @Option(help: "Decision log (decision and outcome lines, docs/decision-log.md).")
        var log: String?

        @Option(help: "Request log (the tuner train --log format: latency, cost, feedback per request), analysed beside the decision log.")
        var requestLog: String?

        @Option(help: "Hours in the analysis window (the window before it is the drift baseline).")
        var windowHours = 24.0

        @Option(help: "End of the window, ISO 8601 (default: now).")
        var end: String?

        @Option(help: "Share of requests analysed, chosen by a stable hash of the request id.")
        var sample = 1.0

        @OptionGroup var policy: PolicyFileOptions

        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard log != nil || requestLog != nil else { throw ValidationError("give --log, --request-log or both") }
            guard windowHours > 0 else { throw ValidationError("--window-hours must be positive") }
            guard sample > 0 && sample <= 1 else { throw ValidationError("--sample must lie in (0, 1]") }
            if let end, (try? Date.ISO8601FormatStyle().parse(end)) == nil { throw ValidationError("--end is not an ISO 8601 time: \(end)") }
        }

        func run() throws {
            let requests = try (log.map { try LoggedRequest.read(URL(fileURLWithPath: $0)) } ?? [])
                + (requestLog.map { try LoggedRequest.read(requestLog: URL(fileURLWithPath: $0)) } ?? [])
            let report = try TelemetryAnalysis.analyse(
                requests, end: try end.map { try Date.ISO8601FormatStyle().parse($0) } ?? Date(),
                window: windowHours * 3600, sampleRate: sample, reward: RewardFunction(policy.load()))
            if output.json {
                let encoder = JSONEncoder.sorted
                encoder.keyEncodingStrategy = .convertToSnakeCase
                encoder.dateEncodingStrategy = .iso8601
                var object = try JSONSerialization.jsonObject(with: encoder.encode(report)) as! [String: Any]
                object["needs_improvement"] = report.needsImprovement
                object["gate"] = report.gateReason
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
                return
            }
            print("window \(report.windowStart.formatted(Date.ISO8601FormatStyle())) … \(report.windowEnd.formatted(Date.ISO8601FormatStyle())): \(report.sampled) requests")
            for (title, groups) in [("category", report.categories), ("configuration", report.configurations)] {
                print("\n\(title)".padding(toLength: 62, withPad: " ", startingAt: 0) + "     n  quality  p50 ms  p95 ms   cost/q $  errors")
                for g in groups {
                    print(g.key.padding(toLength: 60, withPad: " ", startingAt: 0) + String(
                        format: " %5d  %7.3f  %6.0f  %6.0f  %9.6f  %6.3f", g.requests, g.quality ?? .nan, g.latencyP50Milliseconds ?? .nan,
                        g.latencyP95Milliseconds ?? .nan, g.costUSD ?? .nan, g.errorRate))
                }
            }
            print("")
            for finding in report.findings { print("finding: \(finding)") }
            print("analysis gate: \(report.gateReason)")
        }
    }

    struct Versions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the versions, the one production points at, and the pointer's moves.")
        @OptionGroup var options: VersionStoreOptions

        func run() throws {
            let store = try options.open()
            let current = try store.current()?.id
            print("  version           parent            author (kind)                 created               reason")
            for v in try store.versions() {
                print((v.id == current ? "* " : "  ") + v.id + "  " + (v.parent ?? "-").padding(toLength: 16, withPad: " ", startingAt: 0) + "  "
                      + "\(v.author) (\(v.authorKind.rawValue))".padding(toLength: 28, withPad: " ", startingAt: 0) + "  "
                      + v.created.formatted(Date.ISO8601FormatStyle()) + "  " + v.reason)
            }
            for move in try store.moves() {
                print("moved \(move.at.formatted(Date.ISO8601FormatStyle())): \(move.from ?? "-") → \(move.to)  (\(move.reason))")
            }
        }
    }

    struct Commit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record a new version (a child of production's current one); it serves only once deployed.")
        @OptionGroup var options: VersionStoreOptions

        @Option(help: "Configuration file (a JSON object).")
        var configuration: String

        @Option(help: "Policy checkpoint behind the configuration.")
        var checkpoint: String?

        @Option(help: "Who made the change.")
        var author: String

        @Flag(help: "The author is the tuner (a person by default).")
        var tuner = false

        @Option(help: "Why.")
        var reason: String

        func run() throws {
            let store = try options.open()
            let version = try store.commit(
                configuration: String(contentsOfFile: configuration, encoding: .utf8),
                checkpoint: try checkpoint.map { try Data(contentsOf: URL(fileURLWithPath: $0)) }, parent: try store.current()?.id,
                author: author, kind: tuner ? .tuner : .person, reason: reason)
            print(version.id)
        }
    }

    struct Deploy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Point production at a version: a deployment or a rollback to any earlier version, nothing re-evaluated.")
        @OptionGroup var options: VersionStoreOptions

        @Argument(help: "Version id or a unique prefix.")
        var version: String

        @Option(help: "Why.")
        var reason: String

        @Option(help: "Who moves production (the audit record's actor; default: $USER).")
        var by: String?

        func run() throws {
            let store = try options.open()
            let target = try store.version(version)
            let from = try store.current()?.id
            let audit = try ExperienceStore(path: URL(fileURLWithPath: options.experience)).audit
            try store.point(to: target.id, reason: reason)
            let actor = by ?? ProcessInfo.processInfo.environment["USER"] ?? "person"
            try audit.append(action: "deployment: deploy (by hand)", actor: actor, subject: target.id, detail: "production \(from ?? "-") → \(target.id): \(reason)")
            print("production: \(from ?? "-") → \(target.id) (audited as \(actor))")
        }
    }
}
