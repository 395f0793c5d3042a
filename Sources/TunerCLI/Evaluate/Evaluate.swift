import ArgumentParser
import Foundation
import NumericCore
import Pipeline
import Retrieval
import Scoring
import TunerPolicy

extension RAGSettings.Variant: ExpressibleByArgument {}
extension RAGSettings.Template: ExpressibleByArgument {}

extension Tuner {
    struct Evaluate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Score a RAG configuration, or every configuration on a grid, on a dataset split.",
            discussion: """
                Quality comes from the built-in gold judge (faithfulness = the answer rests on a passage \
                the qrels judge relevant, plus gold-answer token recall where the dataset has answers; \
                relevancy = graded recall and rank-weighted precision of the context) or from an HTTP \
                judge (--judge-url). Latency = measured pipeline compute + the generator and re-ranker \
                model of configs/rag/pipeline.yaml; cost from the same model.
                """)

        @OptionGroup var data: DatasetOptions

        @Option(help: "RAG settings as YAML (variant, k, rerank, fusion_weight, template); flags override them.")
        var settings: String?

        @Option(help: "Retriever: bm25, dense, hybrid or rrf.")
        var variant: RAGSettings.Variant?

        @Option(help: "Passages retrieved (top-k).")
        var k: Int?

        @Option(help: "Re-rank the first stage with the learned re-ranker: true or false.")
        var rerank: Bool?

        @Option(help: "Weight of the dense retriever in hybrid and RRF fusion, in [0, 1].")
        var fusionWeight: Double?

        @Option(help: "Prompt template: \(RAGSettings.Template.allCases.map(\.rawValue).joined(separator: ", ")).")
        var template: RAGSettings.Template?

        @Flag(help: "Score every static configuration on the grid of the policy configuration and print the best.")
        var grid = false

        @Option(help: "URL of an external judge (POST JSON); replaces the built-in gold judge.")
        var judgeURL: String?

        @OptionGroup var output: OutputOptions

        func validate() throws {
            if let k, k < 1 { throw ValidationError("--k must be at least 1, got \(k)") }
            if let fusionWeight, !(0...1).contains(fusionWeight) { throw ValidationError("--fusion-weight must lie in [0, 1], got \(fusionWeight)") }
            if grid && judgeURL != nil { throw ValidationError("--grid uses the evaluation cache and the built-in judge; drop --judge-url") }
        }

        func run() async throws {
            // Per-query products are small; BLAS worker threads would only spin.
            BLAS.setThreads(1)
            let context = try data.load()
            let setup = context.setup
            if !output.json { context.printHeader() }
            let reward = setup.reward

            if grid {
                let configurations = ConfigurationGrid.configurations(setup.policy.actions, rerankAvailable: context.system.reranker != nil)
                let clock = ContinuousClock.now
                let cache = EvaluationCache(system: context.system, queries: context.queries)
                let built = ContinuousClock.now - clock
                let workspace = cache.makeWorkspace()
                let reports = try configurations.map { try cache.evaluate($0, reward: reward, workspace: workspace) }
                let scored = ContinuousClock.now - clock - built
                guard let best = ConfigurationGrid.best(reports) else { throw ValidationError("the grid is empty") }
                if output.json {
                    var object = context.jsonHeader()
                    object["configs"] = reports.map(ReportJSON.configurationObject)
                    object["best"] = ReportJSON.configurationObject(best)
                    object["grid_size"] = reports.count
                    object["any_passes_gates"] = best.overall.gatesPassed
                    object["unmet_gates"] = ConfigurationGrid.unmetGates(reports).map { u in
                        ["category": u.category, "gates": u.gates.map { ["name": $0.name, "threshold": $0.threshold, "best": $0.best, "met_alone": $0.metAlone] }] as [String: Any]
                    }
                    try ReportJSON.print(object)
                } else {
                    print("grid: \(reports.count) configurations × \(context.queries.count) queries; cache built in \(built), all scored in \(scored)")
                    let top = reports.sorted { $0.overall.reward.reward > $1.overall.reward.reward }.prefix(10)
                    ReportTable.printConfigurations(Array(top))
                    print(best.overall.gatesPassed ? "\nbest configuration passing every gate:" : "\nno configuration passes every gate; highest reward:")
                    ReportTable.printReport(best)
                    let unmet = ConfigurationGrid.unmetGates(reports)
                    if !unmet.isEmpty { print("\n" + ConfigurationGrid.describe(unmet, split: context.split)) }
                }
                return
            }

            let configuration = try checkedConfiguration(context)
            let report: BatchReport
            if let judgeURL {
                let url = try ServiceURL.parse(judgeURL, option: "--judge-url")
                let evaluator = PipelineEvaluator(pipeline: RAGPipeline(system: context.system), judge: HTTPJudge(url: url))
                report = try await evaluator.evaluate(context.queries, configuration: configuration, reward: reward)
            } else {
                let cache = EvaluationCache(system: context.system, queries: context.queries)
                report = try cache.evaluate(configuration, reward: reward)
            }
            if output.json {
                var object = context.jsonHeader()
                if let judgeURL { object["judge"] = "http-judge \(judgeURL)" }
                for (key, value) in ReportJSON.configurationObject(report) { object[key] = value }
                try ReportJSON.print(object)
            } else {
                ReportTable.printReport(report)
            }
        }

        private func resolvedConfiguration() throws -> RAGSettings {
            var c = try settings.map { try RAGSettingsFile.load(URL(fileURLWithPath: $0)) } ?? RAGSettings()
            if let variant { c.variant = variant }
            if let k { c.k = k }
            if let rerank { c.rerank = rerank }
            if let fusionWeight { c.fusionWeight = fusionWeight }
            if let template { c.template = template }
            return c
        }

        /// The settings, checked against the policy configuration's bounds as `tuner serve` checks them.
        private func checkedConfiguration(_ context: DatasetOptions.Loaded) throws -> RAGSettings {
            let c = try resolvedConfiguration()
            if let problem = context.setup.policy.actions.problem(with: c, rerankAvailable: context.system.reranker != nil) {
                throw ValidationError("settings: \(problem) (the bounds of the policy configuration, as tuner serve applies them)")
            }
            return c
        }
    }
}
