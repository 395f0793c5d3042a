import ArgumentParser
import Foundation
import NumericCore
import Pipeline
import Retrieval
import Scoring

/// The options every command that scores a dataset shares, and what they load.
struct DatasetOptions: ParsableArguments {
    @Option(help: "Dataset folder in the BEIR layout; several train on their union, each query's category its dataset (tuner train: default datasets/demo).")
    var dataset: [String] = []

    @Option(help: "Dataset manifest for a single --dataset (default: DIR/manifest.yaml, else datasets/manifests/<folder name>.yaml, else inferred).")
    var manifest: String?

    @Option(help: "Split to score.")
    var split = "test"

    @Option(help: "Only queries of this category.")
    var category: String?

    @Option(help: "Score at most this many queries of the split.")
    var limit: Int?

    @OptionGroup var policy: PolicyFileOptions

    @Option(help: "Generator, re-ranker and template model for latency and cost (default: \(Self.defaultPipeline) when present).")
    var pipeline: String?

    static let defaultPipeline = "configs/rag/pipeline.yaml"

    @Flag(help: "Ignore shipped embeddings and use the LSA fallback for dense retrieval.")
    var noEmbeddings = false

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1, got \(limit)") }
    }

    struct Loaded {
        var setup: EvaluationSetup
        var system: RetrievalSystem
        var queries: [Int]
        var split: String
        /// CRC-32 of the policy configuration file, or "built-in" when the defaults were used.
        var policyFileHash: String

        func printHeader() {
            let d = setup.dataset
            print("dataset \(d.manifest.id)\(d.manifest.inferred == true ? " (manifest inferred from the folder)" : ""): "
                + "\(d.documents.count) documents, \(d.queries.count) queries; split '\(split)': \(queries.count) queries")
            print("dense retrieval: \(system.dense.label)\(d.embeddings == nil ? " (fallback: no embeddings in the dataset)" : "")")
            print("re-ranker: \(system.reranker == nil ? "none (no train split)" : "trained on the train split")")
            print(d.hygiene.summary.split(separator: "\n").map { "hygiene: \($0)" }.joined(separator: "\n"))
            let g = setup.gates
            print("gates in force: faithfulness ≥ \(g.faithfulnessMin), relevancy ≥ \(g.relevancyMin), "
                + "p95 ≤ \(g.latencyP95MaxMilliseconds) ms, error rate < \(g.errorRateMax) — from \(setup.gateSource)\n")
        }

        func jsonHeader() -> [String: Any] {
            let d = setup.dataset
            let g = setup.gates
            return [
                "dataset": d.manifest.id,
                "split": split,
                "dense_index": system.dense.label,
                "judge": GoldJudge().name,
                "reranker_trained": system.reranker != nil,
                "gates_in_force": [
                    "faithfulness_min": g.faithfulnessMin, "relevancy_min": g.relevancyMin,
                    "latency_p95_max_ms": g.latencyP95MaxMilliseconds, "error_rate_max": g.errorRateMax,
                    "source": setup.gateSource,
                ] as [String: Any],
                "hygiene": [
                    "duplicate_documents": d.hygiene.duplicateDocuments.reduce(0) { $0 + $1.count - 1 },
                    "queries_without_qrels": d.hygiene.queriesWithoutQrels,
                    "leaked_queries": d.hygiene.leakedQueries.count,
                    "unresolved_ids": d.hygiene.unresolvedIDs.count,
                    "derived_splits": d.hygiene.derivedSplits ?? NSNull(),
                ] as [String: Any],
            ]
        }
    }

    /// Loads `--dataset` (the union when given several), or `defaultDataset` when none is given.
    func load(defaultDataset: String? = nil) throws -> Loaded {
        let folders = dataset.isEmpty ? (defaultDataset.map { [$0] } ?? []) : dataset
        guard !folders.isEmpty else { throw ValidationError("--dataset DIR is required") }
        if folders.count > 1 && manifest != nil { throw ValidationError("--manifest applies to a single --dataset") }
        /// A file named on the command line must exist; the default one may be absent.
        func configuration(_ given: String?, default path: String) throws -> URL? {
            if let given {
                guard FileManager.default.fileExists(atPath: given) else { throw ValidationError("no such file: \(given)") }
                return URL(fileURLWithPath: given)
            }
            return FileManager.default.fileExists(atPath: path) ? URL(fileURLWithPath: path) : nil
        }
        let policyFile = try configuration(policy.policy, default: PolicyFileOptions.defaultFile)
        let pipelineFile = try configuration(pipeline, default: Self.defaultPipeline)
        let policyHash = try policyFile.map { "crc32:" + String(CRC32.checksum(try Data(contentsOf: $0)), radix: 16) } ?? "built-in"
        let parts = try folders.map { path -> EvaluationSetup in
            let folder = URL(fileURLWithPath: path)
            var manifestURL = manifest.map { URL(fileURLWithPath: $0) }
            if manifestURL == nil && !FileManager.default.fileExists(atPath: folder.appendingPathComponent("manifest.yaml").path) {
                let project = URL(fileURLWithPath: "datasets/manifests/\(folder.standardizedFileURL.lastPathComponent).yaml")
                if FileManager.default.fileExists(atPath: project.path) { manifestURL = project }
            }
            return try EvaluationSetup.load(
                datasetFolder: folder, manifest: manifestURL, policyFile: policyFile, pipelineFile: pipelineFile,
                loadsEmbeddings: !noEmbeddings)
        }
        let setup = parts.count == 1 ? parts[0] : EvaluationSetup.union(parts)
        let system = try RetrievalSystem(dataset: setup.dataset, costModel: setup.costModel)
        let queries = try setup.queries(split: split, category: category, limit: limit)
        guard !queries.isEmpty else {
            throw ValidationError("split '\(split)'\(category.map { " category '\($0)'" } ?? "") of \(folders.joined(separator: " + ")) has no judged queries")
        }
        return Loaded(setup: setup, system: system, queries: queries, split: split, policyFileHash: policyHash)
    }
}
