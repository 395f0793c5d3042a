import ArgumentParser
import Evaluators
import Foundation
import NumericCore
import Pipeline
import Scoring
import TunerPolicy
import TunerServer

extension Tuner {
    struct Shadow: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a candidate policy in shadow: a reverse proxy in front of production's /query that mirrors every query to the candidate and compares the two pair by pair.",
            discussion: """
                Clients call the proxy instead of production; every response comes from production unchanged. Off the \
                response path the candidate (a policy network, or a configuration table over the policy file's knobs) chooses a \
                configuration for the same query and the candidate service (default: production, through its X-RAG-Configuration \
                header) answers with it. Both answers must carry a judgement \
                (tuner serve judges its dataset's questions). Each window prints one JSON line: the paired reward difference \
                with its 95% interval and the candidate's gates; after --windows windows, the go/no-go for canary. A failing candidate side prints a candidate_failing line at once \
                (GET /shadow/status has the counters); POST /admin/reload reads the candidate checkpoint again (needs --auth-token-file's token).
                """)


        @OptionGroup var service: ServiceOptions

        @Option(help: "Pairs per window.")
        var window = 100

        @Option(help: "Windows before the go/no-go (the specification: 3 to 5).")
        var windows = 3

        @Option(help: "How much worse than production (per-query reward) the candidate may be and still go.")
        var tolerance = 0.0

        @Option(help: "Mirrored queries waiting for the candidate at most; beyond it they are dropped and counted.")
        var queue = 256
        @OptionGroup var listen: ListenOptions

        @OptionGroup var admin: AdminOptions

        func validate() throws {
            guard window >= 2 else { throw ValidationError("--window must be at least 2") }
            guard (1...20).contains(windows) else { throw ValidationError("--windows must lie in 1...20") }
            guard queue >= 1 else { throw ValidationError("--queue must be at least 1") }
        }

        func run() async throws {
            let configuration = try service.policy.load()
            let candidate = try service.served(service.candidate, knobs: configuration.knobs())
            let comparison = ShadowComparison(reward: try await service.reward(configuration, command: "shadow"), windowSize: window, windowsForVerdict: windows, tolerance: tolerance)
            let shadow = ShadowProxy(
                production: try service.productionURL, candidateService: try service.candidateServiceURL,
                candidate: candidate, comparison: comparison,
                queueCapacity: queue, corpusDocuments: service.corpusDocuments, accessToken: try admin.accessToken)
            let reporter = Task {
                var printed = 0
                var failures = Failures()
                while !Task.isCancelled {
                    try? await Task.sleep(nanoseconds: 200_000_000)
                    if let report = failures.report(shadow.counters) { Self.emit(["candidate_failing": Self.object(report)]) }
                    let windows = comparison.windows
                    for w in windows.dropFirst(printed) { Self.emit(["window": Self.object(w)]) }
                    if windows.count >= self.windows && printed < self.windows {
                        Self.emit(["verdict": Self.object(comparison.verdict), "counters": Self.object(shadow.counters)])
                    }
                    printed = windows.count
                }
            }
            let worker = Task { await shadow.runCandidate() }
            defer {
                reporter.cancel()
                worker.cancel()
            }
            let host = listen.host
            try await shadow.application(host: host, port: listen.port(default: 8081), idleTimeoutSeconds: listen.idleTimeout) { port in
                Self.emit(["listening": "http://\(host):\(port)", "production": service.production])
            }.runService()
        }

        /// Says when the candidate side fails, long before the verdict would: at the first failure,
        /// then at most every five seconds while failures go on.
        struct Failures {
            var reported = 0
            var last = ContinuousClock.now - .seconds(5)

            struct Report: Encodable {
                var errors: Int
                var compared: Int
                var lastError: String?
            }

            mutating func report(_ counters: ShadowProxy.Counters) -> Report? {
                guard counters.candidateErrors > reported, reported == 0 || ContinuousClock.now - last >= .seconds(5) else { return nil }
                reported = counters.candidateErrors
                last = .now
                return Report(errors: counters.candidateErrors, compared: counters.compared, lastError: counters.lastCandidateError)
            }
        }

        static func object(_ value: some Encodable) -> Any {
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            return (try? encoder.encode(value)).flatMap { try? JSONSerialization.jsonObject(with: $0) } ?? NSNull()
        }

        /// One JSON object per line on stdout, unbuffered.
        static func emit(_ object: [String: Any]) {
            guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
            FileHandle.standardOutput.write(data + Data("\n".utf8))
        }
    }
}
