import ArgumentParser
import Evaluators
import Foundation
import Retrieval

extension Tuner {
    struct Loadgen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replay a dataset's questions against a RAG endpoint (POST URL/query) at a fixed rate.")

        @Option(help: "Base URL of the service (its /query is called).")
        var target: String

        @Option(help: "Questions: a BEIR queries.jsonl (text, optional category).")
        var queries: String

        @Option(help: "Requests per second (open loop: the schedule does not wait for answers).")
        var rps: Double

        @Option(help: "Seconds to run at most.")
        var duration: Double

        @Option(help: "Requests to send at most.")
        var maxRequests: Int?

        @Option(help: "Requests in flight at most; a due request that finds them all busy is skipped and counted.")
        var concurrency = 64

        @Option(help: "Settings to send as X-RAG-Configuration with every request (a JSON object).")
        var configuration: String?

        @Flag(help: "Print one JSON object instead of a summary.")
        var json = false

        func validate() throws {
            guard let url = URL(string: target), url.scheme == "http" || url.scheme == "https" else {
                throw ValidationError("--target must be an http(s) URL, got '\(target)'")
            }
            guard rps > 0 && rps <= 10_000 else { throw ValidationError("--rps must lie in (0, 10000], got \(rps)") }
            guard duration > 0 && duration <= 86_400 else { throw ValidationError("--duration must lie in (0, 86400] seconds") }
            if let maxRequests, maxRequests < 1 { throw ValidationError("--max-requests must be at least 1") }
            guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
        }

        private struct QueryLine: Decodable {
            var text: String
            var category: String?
        }

        func run() async throws {
            let lines = try JSONLines.read(QueryLine.self, from: URL(fileURLWithPath: queries))
            guard !lines.isEmpty else { throw ValidationError("\(queries) holds no questions") }
            let generator = LoadGenerator(
                target: URL(string: target)!, questions: lines.map { .init(question: $0.text, category: $0.category) },
                requestsPerSecond: rps, duration: duration, maxRequests: maxRequests ?? .max, concurrency: concurrency,
                configurationHeader: configuration)
            let report = await generator.run()
            if json {
                print(String(decoding: try JSONEncoder.sorted.encode(report), as: UTF8.self))
                return
            }
            print(String(format: "%d sent in %.1f s (%.1f/s), %d ok, %d failed, %d skipped; latency p50 %.1f ms, p95 %.1f ms, p99 %.1f ms",
                         report.sent, report.seconds, report.achievedRate, report.succeeded, report.failed, report.skipped,
                         report.latencyP50Milliseconds, report.latencyP95Milliseconds, report.latencyP99Milliseconds))
            for (reason, count) in report.failures.sorted(by: { $0.key < $1.key }) { print("  failed with \(reason): \(count)") }
        }
    }
}
