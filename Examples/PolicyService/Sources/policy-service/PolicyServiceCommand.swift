import ArgumentParser
import Foundation
import NumericCore
import Pipeline
import PolicyServiceExample
import Retrieval
import TunerPolicy

@main
struct PolicyServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy-service",
        abstract: "An example RAG service that asks a tuned policy which settings to use per request.")

    @Argument(help: "Policy checkpoint (a run's policy.ckpt).")
    var checkpoint: String

    @Option(help: "A candidate checkpoint to canary against the first.")
    var candidate: String?

    @Option(help: "Percentage of users routed to the candidate.")
    var percentage = 0.0

    @Option(help: "Dataset folder to answer from.")
    var dataset = "datasets/demo"

    @Option(help: "Decision log to append to (JSON lines).")
    var log = "decisions.jsonl"

    @Option(help: "Address to listen on (0.0.0.0: every interface; needs --auth-token-file).")
    var host = "127.0.0.1"

    @Option(help: "Port (0 picks a free one).")
    var port = 8080

    @Option(help: "File holding the bearer token (at least 16 printable characters) that POST /feedback requires.")
    var authTokenFile: String?

    func validate() throws {
        guard authTokenFile != nil || ["127.0.0.1", "localhost", "::1"].contains(host) else {
            throw ValidationError("--host \(host) lets other machines write feedback into the decision log; give --auth-token-file too")
        }
    }

    func run() async throws {
        BLAS.setThreads(1)
        let baseline = try PolicyHandle(contentsOf: URL(fileURLWithPath: checkpoint))
        let candidatePolicy = try candidate.map { try PolicyHandle(contentsOf: URL(fileURLWithPath: $0)) } ?? baseline
        let system = try RetrievalSystem(dataset: DatasetLoader(folder: URL(fileURLWithPath: dataset)).load())
        let service = PolicyService(
            pipeline: RAGPipeline(system: system),
            router: try CanaryRouter(baseline: baseline, candidate: candidatePolicy, percentage: percentage),
            log: try DecisionLogWriter(url: URL(fileURLWithPath: log)),
            accessToken: try authTokenFile.map { try AccessToken(contentsOf: URL(fileURLWithPath: $0)) })
        let (logPath, host) = (log, host)
        try await service.application(host: host, port: port) { port in print("policy-service on http://\(host):\(port), decisions → \(logPath)") }
            .runService()
    }
}
