import ArgumentParser
import Dispatch
import Foundation
import NumericCore
import RSI
import Tracking

/// Where the loop's configuration lives.
struct LoopOptions: ParsableArguments {
    @Option(help: "The loop's configuration (the meta-graph).")
    var config = "configs/rsi/loop.yaml"

    func load() throws -> RSIConfiguration {
        guard FileManager.default.fileExists(atPath: config) else { throw ValidationError("\(config): no such loop configuration") }
        return try RSIConfiguration.load(URL(fileURLWithPath: config))
    }
}

extension Tuner.RSICommand {
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the loop: one cycle, or cycles at an interval. Ctrl-C or SIGTERM stops it; a deployment in progress is rolled back first.")

        @OptionGroup var loop: LoopOptions

        @Flag(help: "Run one cycle.")
        var once = false

        @Flag(help: "Run cycles until --max-iterations or a signal.")
        var continuous = false

        @Option(help: "Seconds between the start of one cycle and the next (--continuous).")
        var interval = 3600.0

        @Option(help: "Cycles to run at most (--continuous).")
        var maxIterations = Int.max

        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard once != continuous else { throw ValidationError("give exactly one of --once and --continuous") }
            guard interval > 0, maxIterations >= 1 else { throw ValidationError("--interval must be positive and --max-iterations at least 1") }
        }

        func run() async throws {
            BLAS.setThreads(1)
            let configuration = try loop.load()
            let iterations = once ? 1 : maxIterations
            let (interval, json) = (interval, output.json)
            let work = Task {
                let cycle = try ImprovementCycle(configuration: configuration)
                for iteration in 1...iterations {
                    let started = ContinuousClock.now
                    let result = try await cycle.run()
                    Self.report(result, json: json)
                    if iteration == iterations { break }
                    try await Task.sleep(until: started + .seconds(interval))
                }
            }
            let signals = [SIGINT, SIGTERM].map { number in
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { work.cancel() }
                source.resume()
                return source
            }
            defer { signals.forEach { $0.cancel() } }
            do {
                try await work.value
            } catch is CancellationError {
                print("stopped; nothing is left half-applied (production: \(try VersionStore(path: URL(fileURLWithPath: configuration.versionStore)).current()?.id ?? "-"))")
            }
        }

        static func report(_ r: CycleResult, json: Bool) {
            if json {
                let encoder = JSONEncoder.sorted
                encoder.keyEncodingStrategy = .convertToSnakeCase
                encoder.dateEncodingStrategy = .iso8601
                encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
                print(String(decoding: (try? encoder.encode(r)) ?? Data(), as: UTF8.self))
                return
            }
            print("cycle \(r.cycle) of \(r.serviceID): \(r.success ? "success" : "stopped at the \(r.stoppedAt?.rawValue ?? "?") gate")")
            for finding in r.findings { print("  finding: \(finding)") }
            for h in r.hypotheses { print("  hypothesis \(h.id): \(h.summary)\(h.patternNote.map { " — \($0)" } ?? "")") }
            for t in r.tests {
                let gain = t.gain.map { String(format: "%+.4f [%+.4f, %+.4f]", $0.estimate, $0.lower, $0.upper) } ?? "-"
                print("  test \(t.hypothesis) (\(t.arm), \(t.pairs) pairs): gain \(gain), p95 \(Int(t.latencyP95Milliseconds)) ms — "
                      + (t.passed ? "passed" : "failed: " + t.failures.joined(separator: "; ")))
            }
            if let d = r.deployment {
                print("  deployment (\(d.strategy.rawValue)) \(d.previous) → \(d.version): \(d.outcome.rawValue)")
                for step in d.steps { print(String(format: "    %g%%: %@ — %@", step.percent, step.check.verdict.rawValue, step.check.reason)) }
            }
            print("  production: \(r.version); \(r.hypothesesDeployed) hypotheses deployed; \(r.reason)")
        }
    }

    struct Review: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the hypotheses waiting for a person, or approve or reject one with a reason (approved ones are tested in the next cycle).")

        @OptionGroup var loop: LoopOptions

        @Option(help: "Approve this hypothesis.")
        var approve: String?

        @Option(help: "Reject this hypothesis.")
        var reject: String?

        @Option(help: "Why (required to approve or reject).")
        var reason: String?

        @Option(help: "Who decides.")
        var reviewer = ProcessInfo.processInfo.environment["USER"] ?? "reviewer"

        func validate() throws {
            guard approve == nil || reject == nil else { throw ValidationError("give one of --approve and --reject") }
            if approve != nil || reject != nil, (reason ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
                throw ValidationError("--reason is required to approve or reject")
            }
        }

        func run() throws {
            let configuration = try loop.load()
            let store = try ExperienceStore(path: URL(fileURLWithPath: configuration.experienceStore))
            if let id = approve ?? reject {
                let record = try store.review(id, approve: approve != nil, reviewer: reviewer, reason: reason!)
                print("\(record.id): \(record.status.rawValue) by \(reviewer)")
                return
            }
            let pending = try store.hypotheses(service: configuration.serviceID, statuses: [.pendingReview])
            if pending.isEmpty { print("no hypothesis waits for review") }
            for record in pending {
                let h = try record.hypothesis
                print("\(h.id)  cycle \(h.cycle)  \(h.summary)\(h.patternNote.map { "\n    \($0)" } ?? "")")
            }
        }
    }

    struct Experience: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Query the experience database: hypotheses by status, a hypothesis's stages, cycles, and the patterns learned from them.")

        @OptionGroup var loop: LoopOptions

        @Option(help: "Only hypotheses with this status (\(HypothesisRecord.Status.allCases.map(\.rawValue).joined(separator: ", "))); 'successful' means kept.")
        var status: String?

        @Option(help: "Every stage of this hypothesis.")
        var hypothesis: String?

        @Flag(help: "The cycles and how each ended.")
        var cycles = false

        @Flag(help: "Patterns: which kinds of change succeeded or failed under which conditions.")
        var patterns = false

        func validate() throws {
            if let status, status != "successful", HypothesisRecord.Status(rawValue: status) == nil {
                throw ValidationError("--status \(status) is not one of successful, \(HypothesisRecord.Status.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }

        func run() throws {
            let configuration = try loop.load()
            let store = try ExperienceStore(path: URL(fileURLWithPath: configuration.experienceStore))
            if let hypothesis {
                let h = try store.hypothesis(hypothesis)
                print("\(h.id) (\(h.status.rawValue)): \(try h.hypothesis.summary)")
                for s in try store.stages(hypothesis: hypothesis) {
                    print("  \(s.at.formatted(Date.ISO8601FormatStyle()))  \(s.stage): \(s.verdict) — \(s.detail)")
                }
            } else if cycles {
                for c in try store.cycles(service: configuration.serviceID) {
                    print("\(c.id)  \(c.success ? "success" : "stopped at \(c.gate ?? "-")")  deployed \(c.hypothesesDeployed)  \(c.reason)")
                }
            } else if patterns {
                let extracted = PatternExtraction(try store.hypotheses(service: configuration.serviceID))
                if extracted.patterns.isEmpty { print("no finished attempt yet") }
                for p in extracted.patterns { print(p.description) }
            } else {
                let statuses = status.map { $0 == "successful" ? [.kept] : [HypothesisRecord.Status(rawValue: $0)!] }
                for record in try store.hypotheses(service: configuration.serviceID, statuses: statuses) {
                    print("\(record.id)  \(record.status.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0))  \(try record.hypothesis.summary)")
                }
            }
        }
    }
}

extension Tuner {
    struct Audit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The audit trail of deployments, approvals and rollbacks: a hash chain.", subcommands: [Verify.self, List.self])

        struct Verify: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Check every record's hash and link and every version's content id; print the head to keep elsewhere; report the first broken record (exit 1).")
            @OptionGroup var loop: LoopOptions

            @Option(help: "A head printed by an earlier verify (SEQUENCE:HASH): the trail must still reach it unchanged, or it was truncated or rewritten.")
            var expectHead: String?

            @Flag(help: "The trail is new: a missing or empty one is not an error.")
            var new = false

            func validate() throws {
                if let expectHead, AuditTrail.Head(expectHead) == nil {
                    throw ValidationError("--expect-head must be SEQUENCE:HASH (64 lower-case hex digits), got '\(expectHead)'")
                }
            }

            func run() throws {
                let configuration = try loop.load()
                let path = URL(fileURLWithPath: configuration.experienceStore)
                // Opening creates the file: a missing store must not verify as an empty, intact one.
                guard new || FileManager.default.fileExists(atPath: path.path) else {
                    throw ValidationError("no audit trail at \(path.path): a missing store is not an intact one (--new if the trail is new)")
                }
                let store = try ExperienceStore(path: path)
                guard let head = try store.audit.head() else {
                    if new { return print("audit trail at \(path.path): new, no record yet") }
                    throw ValidationError("the audit trail at \(path.path) is empty: every record was removed, or none was ever written (--new if the trail is new)")
                }
                let verification = try store.audit.verify(expecting: expectHead.flatMap(AuditTrail.Head.init))
                print(verification)
                var broken = false
                if case .broken = verification { broken = true }
                let versionsPath = URL(fileURLWithPath: configuration.versionStore)
                if FileManager.default.fileExists(atPath: versionsPath.path) {
                    let tampered = try VersionStore(path: versionsPath).tamperedVersions()
                    print(tampered.isEmpty ? "versions: every stored configuration matches its content id"
                                           : "versions changed after they were committed: \(tampered.joined(separator: ", "))")
                    broken = broken || !tampered.isEmpty
                }
                print("head: \(head) (keep it elsewhere; --expect-head \(head) tells a later verify whether records were removed)")
                if broken { throw ExitCode(1) }
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Print the audit trail, oldest first.")
            @OptionGroup var loop: LoopOptions

            func run() throws {
                let store = try ExperienceStore(path: URL(fileURLWithPath: try loop.load().experienceStore))
                for r in try store.audit.records() {
                    print("\(r.sequence)  \(r.at.formatted(Date.ISO8601FormatStyle()))  \(r.actor)  \(r.action)  \(r.subject)  \(r.hash.prefix(16))  \(r.detail)")
                }
            }
        }
    }
}
