import ArgumentParser
import Evaluators
import Foundation
import NumericCore
import RSI
import Tracking
import TunerPolicy
import TunerServer

extension Tuner {
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve the evaluator protocol, a reference RAG endpoint, Prometheus metrics and a health check over HTTP.",
            discussion: """
                GET /tuner/evaluator, POST /tuner/evaluate, POST /query (settings from --checkpoint's policy or --versions' production configuration, or the X-RAG-Configuration \
                header), GET /metrics, GET /health, and with --checkpoint POST /decide (the policy's configuration for a service's context), POST /outcome \
                and POST /admin/reload (reads the checkpoint file again); the last two need --auth-token-file's bearer token; documented in docs/openapi.yaml. A configuration \
                table as --checkpoint without --dataset serves its decisions only (no /query or /tuner/*). SIGTERM or Ctrl-C stops \
                accepting connections and lets requests in flight finish.
                """)

        @OptionGroup var data: DatasetOptions

        @Option(help: "Policy checkpoint that chooses /query's settings (default: the policy configuration's default settings).")
        var checkpoint: String?

        @Option(help: "Serve the production configuration of this version store (tuner rsi): its production version, and a rollout's candidate for its share; changes apply within half a second.")
        var versions: String?

        @Option(help: "Append /query's decisions (policy or version) and outcomes to this decision log.")
        var decisionLog: String?

        @Option(help: "Milliseconds /tuner/evaluate waits per question before answering, as an LLM-backed service would (not added to the reported latency).")
        var addedLatencyMs = 0.0

        @OptionGroup var listen: ListenOptions

        @OptionGroup var admin: AdminOptions

        func validate() throws {
            guard addedLatencyMs.isFinite, (0...60_000).contains(addedLatencyMs) else {
                throw ValidationError("--added-latency-ms must lie in 0...60000, got \(addedLatencyMs)")
            }
            guard checkpoint == nil || versions == nil else { throw ValidationError("--checkpoint and --versions both choose /query's settings; give one") }
        }

        func run() async throws {
            BLAS.setThreads(1)
            let file = checkpoint.map { URL(fileURLWithPath: $0) }
            // A run over a service's own knobs leaves a configuration table, which /decide serves
            // for that service: the built-in pipeline is loaded beside it only when --dataset asks.
            let table = try file.flatMap { try ConfigurationTable.isTable(at: $0) ? try ServedHandle<ConfigurationTable>(contentsOf: $0) : nil }
            let loaded = table != nil && data.dataset.isEmpty ? nil : try data.load(defaultDataset: "datasets/demo")
            let evaluator = try loaded.map { try LocalEvaluator(setup: $0.setup, system: $0.system) }
            // A network chooses this server's settings, so one trained under other knobs is refused, at start and on reload.
            let policy = try evaluator.flatMap { evaluator in try table == nil ? file.map { try PolicyHandle(contentsOf: $0, for: evaluator.knobs) } : nil }
            if let policy, let checkpoint, let loaded {
                let unknown = policy.current.unknownCategories(loaded.setup.dataset.queries.map(\.category))
                if !unknown.isEmpty {
                    FileHandle.standardError.write(Data("""
                        tuner serve: the policy \(checkpoint) was trained on categories \(policy.current.features.categories.joined(separator: ", ")); \
                        categories of dataset \(loaded.setup.dataset.manifest.id) it never saw: \(unknown.joined(separator: ", ")) (their requests \
                        get its shared configuration where it has one, else the network's choice for an unknown category)

                        """.utf8))
                }
            }
            let server = TunerServer(
                evaluator: evaluator,
                policy: policy, table: table,
                versions: try versions.map { try ServedVersions(store: VersionStore(path: URL(fileURLWithPath: $0))) },
                log: try decisionLog.map { try DecisionLogWriter(url: URL(fileURLWithPath: $0)) }, addedMillisecondsPerQuery: addedLatencyMs,
                accessToken: try admin.accessToken)
            let host = listen.host
            try await server.application(host: host, port: listen.port(default: 8080), idleTimeoutSeconds: listen.idleTimeout) { port in
                // Unbuffered, so a supervisor (or a test) reading the pipe sees the port at once.
                let serving = switch (loaded, server.evaluator) {
                case let (loaded?, evaluator?): "dataset \(loaded.setup.dataset.manifest.id), splits \(evaluator.caches.keys.sorted().joined(separator: ", "))"
                default: "decisions only, from configuration table \(table?.current.version ?? "")"
                }
                FileHandle.standardOutput.write(Data("tuner serve: http://\(host):\(port) (\(serving))\n".utf8))
            }.runService()
        }
    }
}
