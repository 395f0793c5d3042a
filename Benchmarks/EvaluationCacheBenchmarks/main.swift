// Evaluation-cache benchmark (issue: RAG pipeline). Run on demand, release build:
//   RAGTUNER_BENCHMARKS=1 swift run -c release EvaluationCacheBenchmarks [DATASET_DIR] [--queries 500]
// Builds the cache for a batch of test queries (default: SQuAD dev, 500 queries), then scores
// every configuration of the policy grid on the batch, one core, and prints the median
// query-evaluations per second over repeats — per-query outcomes alone, and with the batch
// report (percentiles, per-category summaries, reward) — next to the from-scratch pipeline.
import BenchmarkSupport
import Foundation
import NumericCore
import Pipeline
import Scoring

let arguments = CommandLine.arguments
let folder = arguments.dropFirst().first { !$0.hasPrefix("--") && Int($0) == nil } ?? "../shared/datasets/squad-dev"
let batch = arguments.firstIndex(of: "--queries").map { Int(arguments[$0 + 1])! } ?? 500
BLAS.setThreads(1)

let name = URL(fileURLWithPath: folder).lastPathComponent
let setup = try EvaluationSetup.load(
    datasetFolder: URL(fileURLWithPath: folder), manifest: URL(fileURLWithPath: "datasets/manifests/\(name).yaml"),
    policyFile: URL(fileURLWithPath: "configs/rl/policy.defaults.yaml"), pipelineFile: URL(fileURLWithPath: "configs/rag/pipeline.yaml"))
let system = try RetrievalSystem(dataset: setup.dataset, costModel: setup.costModel)
let queries = Array(try setup.queries(split: "test").prefix(batch))
var start = now()
let cache = EvaluationCache(system: system, queries: queries)
let buildSeconds = now() - start
let configurations = ConfigurationGrid.configurations(setup.policy.actions, rerankAvailable: system.reranker != nil)
let workspace = cache.makeWorkspace()
let reward = setup.reward
print("dataset \(name): \(queries.count) queries, \(configurations.count) grid configurations; cache built in \(String(format: "%.2f", buildSeconds)) s")

var checksum = 0.0
let outcomeSeconds = measure(repeats: 7, iterations: 1) {
    for c in configurations {
        for i in 0..<queries.count { checksum += try! cache.outcome(at: i, configuration: c, workspace: workspace).relevancy }
    }
}
let reportSeconds = measure(repeats: 7, iterations: 1) {
    for c in configurations { checksum += try! cache.evaluate(c, reward: reward, workspace: workspace).overall.reward.reward }
}
let evaluations = Double(configurations.count * queries.count)
print(String(format: "cached, per-query outcomes:      %12.0f query-evaluations/s (median of 7)", evaluations / outcomeSeconds))
print(String(format: "cached, with batch reports:      %12.0f query-evaluations/s (median of 7)", evaluations / reportSeconds))

let pipeline = RAGPipeline(system: system)
let sample = Array(queries.prefix(50))
let sampleConfigurations = stride(from: 0, to: configurations.count, by: 16).map { configurations[$0] }
let pipelineSeconds = measure(repeats: 3, iterations: 1) {
    for c in sampleConfigurations {
        for q in sample { checksum += Double(try! pipeline.run(query: q, configuration: c).response.inputTokens) }
    }
}
let pipelineRate = Double(sample.count * sampleConfigurations.count) / pipelineSeconds
print(String(format: "from scratch (RAGPipeline.run):  %12.0f query-evaluations/s (median of 3, %d configurations × %d queries)",
             pipelineRate, sampleConfigurations.count, sample.count))
print(String(format: "cache / from scratch: %.0f×   (checksum %.3f)", evaluations / reportSeconds / pipelineRate, checksum))
