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
                response path the candidate policy chooses settings for the same query and the candidate service (default: \
                production, through its X-RAG-Configuration header) answers with them. Both answers must carry a judgement \
                (tuner serve judges its dataset's questions). Each window prints one JSON line: the paired reward difference \
                with its 95% interval and the candidate's gates; after --windows windows, the go/no-go for canary.
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


        @Option(help: "Address the proxy listens on: 127.0.0.1 by default; where production's clients reach it (0.0.0.0: every interface) when it stands in front of production.")
        var host = "127.0.0.1"

        @Option(help: "Port of the proxy (0 picks a free one).")
        var port = 8081

        func validate() throws {
            guard window >= 2 else { throw ValidationError("--window must be at least 2") }
            guard (1...20).contains(windows) else { throw ValidationError("--windows must lie in 1...20") }
            guard queue >= 1 else { throw ValidationError("--queue must be at least 1") }
        }

        func run() async throws {
            let configuration = try DatasetOptions.policyConfiguration(service.policy)
            let comparison = ShadowComparison(reward: RewardFunction(configuration), windowSize: window, windowsForVerdict: windows, tolerance: tolerance)
            let shadow = ShadowProxy(
                production: try service.productionURL, candidateService: try service.candidateServiceURL,
                candidate: try PolicyHandle(contentsOf: URL(fileURLWithPath: service.candidate)), comparison: comparison,
                queueCapacity: queue, corpusDocuments: service.corpusDocuments)
            let reporter = Task {
                var printed = 0
                while !Task.isCancelled {
                    try? await Task.sleep(nanoseconds: 200_000_000)
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
            try await shadow.application(host: host, port: port) { port in
                Self.emit(["listening": "http://\(host):\(port)", "production": service.production])
            }.runService()
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
