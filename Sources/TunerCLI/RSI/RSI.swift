import ArgumentParser
import Foundation
import RSI

extension Tuner {
    struct RSICommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rsi",
            abstract: "The self-improvement loop's records: versions of the production configuration.",
            subcommands: [Versions.self, Commit.self, Deploy.self])
    }
}

/// Where the version store lives.
struct VersionStoreOptions: ParsableArguments {
    @Option(help: "Version store (SQLite, WAL).")
    var store = "rsi/versions.sqlite"

    func open() throws -> VersionStore { try VersionStore(path: URL(fileURLWithPath: store)) }
}

extension Tuner.RSICommand {
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

        func run() throws {
            let store = try options.open()
            let target = try store.version(version)
            let from = try store.current()?.id
            try store.point(to: target.id, reason: reason)
            print("production: \(from ?? "-") → \(target.id)")
        }
    }
}
