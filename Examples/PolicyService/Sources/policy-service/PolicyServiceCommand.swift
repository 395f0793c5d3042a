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

    @Option(help: "Port on 127.0.0.1.")
    var port = 8080

    func run() async throws {
        BLAS.setThreads(1)
        let baseline = try PolicyHandle(contentsOf: URL(fileURLWithPath: checkpoint))
        let candidatePolicy = try candidate.map { try PolicyHandle(contentsOf: URL(fileURLWithPath: $0)) } ?? baseline
        let system = try RetrievalSystem(dataset: DatasetLoader(folder: URL(fileURLWithPath: dataset)).load())
        let service = PolicyService(
            pipeline: RAGPipeline(system: system),
            router: try CanaryRouter(baseline: baseline, candidate: candidatePolicy, percentage: percentage),
            log: try DecisionLogWriter(url: URL(fileURLWithPath: log)))
        let logPath = log
        try await service.application(port: port) { port in print("policy-service on http://127.0.0.1:\(port), decisions → \(logPath)") }
            .runService()
    }
}
