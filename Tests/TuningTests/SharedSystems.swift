import Foundation
import NumericCore
import Pipeline
import Retrieval

/// Retrieval systems over the real datasets beside the repository, built once per process.
enum SharedSystems {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let datasets: URL = {
        if let override = ProcessInfo.processInfo.environment["RAGTUNER_DATASETS"] { return URL(fileURLWithPath: override) }
        return repository.deletingLastPathComponent().appendingPathComponent("shared/datasets")
    }()

    nonisolated(unsafe) private static var built: [String: (EvaluationSetup, RetrievalSystem)] = [:]
    private static let lock = NSLock()

    /// The dataset with its project manifest and the shipped configuration files.
    static func system(_ name: String, embeddings: Bool = true) throws -> (EvaluationSetup, RetrievalSystem) {
        lock.lock()
        defer { lock.unlock() }
        let key = "\(name)/\(embeddings)"
        if let cached = built[key] { return cached }
        BLAS.setThreads(1)
        let setup = try EvaluationSetup.load(
            datasetFolder: datasets.appendingPathComponent(name),
            manifest: repository.appendingPathComponent("datasets/manifests/\(name).yaml"),
            policyFile: repository.appendingPathComponent("configs/rl/policy.defaults.yaml"),
            pipelineFile: repository.appendingPathComponent("configs/rag/pipeline.yaml"),
            loadsEmbeddings: embeddings)
        let system = try RetrievalSystem(dataset: setup.dataset, costModel: setup.costModel)
        built[key] = (setup, system)
        return (setup, system)
    }
}
