import Foundation
import Retrieval
import Scoring
import TunerPolicy

/// A dataset with the configuration files that decide how it is scored: the policy
/// configuration (reward weights, gates, action bounds), the pipeline cost model, and the gate
/// thresholds in force — the policy configuration's, or the dataset manifest's where it sets
/// its own, with the reason.
public struct EvaluationSetup: Sendable {
    public var dataset: Dataset
    public var policy: PolicyConfiguration
    public var costModel: PipelineModel
    public var gates: PolicyConfiguration.GateThresholds
    /// Where the gate thresholds come from and why.
    public var gateSource: String
    /// For a union: each category's (dataset's) own thresholds.
    public var categoryGates: [String: PolicyConfiguration.GateThresholds] = [:]

    public static let variantNames = RAGSettings.Variant.allCases.map(\.rawValue)
    public static let templateNames = PromptTemplate.allCases.map(\.rawValue)

    /// Loads everything. `policyFile` and `pipelineFile` may be nil for the built-in defaults.
    public static func load(
        datasetFolder: URL, manifest: URL? = nil, policyFile: URL?, pipelineFile: URL?, loadsEmbeddings: Bool = true
    ) throws -> EvaluationSetup {
        let dataset = try DatasetLoader(folder: datasetFolder, manifestURL: manifest, loadsEmbeddings: loadsEmbeddings).load()
        let policy = try policyFile.map { try PolicyConfiguration.load(from: $0, variants: variantNames, templates: templateNames) }
            ?? PolicyConfiguration(actions: .init(variants: variantNames, templates: templateNames))
        let costModel = try pipelineFile.map(PipelineModel.load) ?? PipelineModel()
        var gates = policy.gates
        var source = "built-in defaults (the specification's)"
        if let policyFile {
            let declared = policy.declaredGates
            source = declared.isEmpty ? "built-in defaults (the specification's; \(policyFile.path) sets no gate)"
                : declared.count == PolicyConfiguration.GateThresholds.fieldNames.count ? "policy configuration \(policyFile.path)"
                : "policy configuration \(policyFile.path) (\(declared.joined(separator: ", "))), built-in defaults for the rest"
        }
        if let override = dataset.manifest.gates {
            gates = try gates.applying(override.thresholds, source: "manifest of dataset '\(dataset.manifest.id)'")
            source = "manifest of dataset '\(dataset.manifest.id)': \(override.reason)"
        }
        return EvaluationSetup(dataset: dataset, policy: policy, costModel: costModel, gates: gates, gateSource: source)
    }

    /// Several datasets trained on as one, each query's category its dataset's id. Each category
    /// keeps its dataset's gate thresholds; over all queries together the gates are, field by
    /// field, the most lenient of the parts' (a threshold one part's data cannot reach must not
    /// fail the union), and the source says so.
    public static func union(_ parts: [EvaluationSetup]) -> EvaluationSetup {
        precondition(!parts.isEmpty, "a union needs at least one dataset")
        var gates = parts[0].gates
        for part in parts.dropFirst() {
            gates.faithfulnessMin = min(gates.faithfulnessMin, part.gates.faithfulnessMin)
            gates.relevancyMin = min(gates.relevancyMin, part.gates.relevancyMin)
            gates.latencyP95MaxMilliseconds = max(gates.latencyP95MaxMilliseconds, part.gates.latencyP95MaxMilliseconds)
            gates.errorRateMax = max(gates.errorRateMax, part.gates.errorRateMax)
        }
        let sources = parts.map { "\($0.dataset.manifest.id): \($0.gateSource)" }.joined(separator: "; ")
        return EvaluationSetup(
            dataset: .union(parts.map(\.dataset)), policy: parts[0].policy, costModel: parts[0].costModel, gates: gates,
            gateSource: "over all queries the most lenient of the parts' thresholds; per category its dataset's own (\(sources))",
            categoryGates: Dictionary(uniqueKeysWithValues: parts.map { ($0.dataset.manifest.id, $0.gates) }))
    }

    public var reward: RewardFunction { RewardFunction(policy, gates: gates, categoryGates: categoryGates) }

    /// The judged queries of `split`, optionally of one category, at most `limit`.
    public func queries(split: String, category: String? = nil, limit: Int? = nil) throws -> [Int] {
        var queries = try dataset.qrels(split).queries.sorted()
        if let category { queries = queries.filter { dataset.queries[$0].category == category } }
        if let limit { queries = Array(queries.prefix(limit)) }
        return queries
    }
}
