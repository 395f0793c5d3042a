import ArgumentParser
import Evaluators
import Foundation
import Retrieval
import TunerPolicy

extension Tuner {
    struct Loadgen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replay a dataset's questions against a RAG endpoint (POST URL/query), or batch evaluations against an evaluator (POST URL/tuner/evaluate), at a fixed rate.")

        @Option(help: "Base URL of the service (its /query is called).")
        var target: String

        @Option(help: "Questions for /query: a BEIR queries.jsonl (text, optional category).")
        var queries: String?

        @Option(help: "Load /tuner/evaluate instead, with batches of this many queries (seed i for request i).")
        var evaluateBatch: Int?

        @Option(help: "Split the evaluation batches draw from.")
        var split = "test"

        @Option(help: "Requests per second (open loop: the schedule does not wait for answers).")
        var rps: Double

        @Option(help: "Seconds to run at most.")
        var duration: Double

        @Option(help: "Requests to send at most.")
        var maxRequests: Int?

        @Option(help: "Requests in flight at most; a due request that finds them all busy is skipped and counted.")
        var concurrency = 64

        @Option(help: "Settings as a JSON object: sent as X-RAG-Configuration to /query, or evaluated by /tuner/evaluate (default: the default settings).")
        var configuration: String?

        @OptionGroup var output: OutputOptions

        func validate() throws {
            _ = try ServiceURL.parse(target, option: "--target")
            guard rps > 0 && rps <= 10_000 else { throw ValidationError("--rps must lie in (0, 10000], got \(rps)") }
            guard duration > 0 && duration <= 86_400 else { throw ValidationError("--duration must lie in (0, 86400] seconds") }
            if let maxRequests, maxRequests < 1 { throw ValidationError("--max-requests must be at least 1") }
            guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
            guard (queries == nil) != (evaluateBatch == nil) else { throw ValidationError("give exactly one of --queries FILE and --evaluate-batch N") }
            if let evaluateBatch, !(1...EvaluatorProtocol.maxBatchSize).contains(evaluateBatch) {
                throw ValidationError("--evaluate-batch must lie in 1...\(EvaluatorProtocol.maxBatchSize)")
            }
        }

        private struct QueryLine: Decodable {
            var text: String
            var category: String?
        }

        func run() async throws {
            let workload: LoadGenerator.Workload
            if let queries {
                let lines = try JSONLines.read(QueryLine.self, from: URL(fileURLWithPath: queries))
                guard !lines.isEmpty else { throw ValidationError("\(queries) holds no questions") }
                workload = .questions(lines.map { .init(question: $0.text, category: $0.category) })
            } else {
                let settings = try configuration.map {
                    do { return try JSONDecoder().decode(RAGSettings.self, from: Data($0.utf8)) } catch {
                        throw ValidationError("--configuration is not a configuration object: \(error)")
                    }
                } ?? RAGSettings()
                workload = .evaluations(configuration: settings, batchSize: evaluateBatch!, split: split)
            }
            let generator = LoadGenerator(
                target: try ServiceURL.parse(target, option: "--target"), workload: workload, requestsPerSecond: rps, duration: duration,
                maxRequests: maxRequests ?? .max, concurrency: concurrency, configurationHeader: queries == nil ? nil : configuration)
            let report = await generator.run()
            if output.json {
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
