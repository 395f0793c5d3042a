import ConfigurationFiles
import Foundation

/// A dataset's identity card (YAML): where it comes from, what it holds, and, where the team that
/// runs the service has set them, gate thresholds of its own with the reason.
///
/// A plain BEIR folder without a manifest still loads: the manifest is then inferred from the
/// folder's contents and `inferred` is true.
public struct DatasetManifest: Codable, Sendable, Equatable {
    public struct Size: Codable, Sendable, Equatable {
        public var documents: Int
        public var queries: Int
        public init(documents: Int, queries: Int) {
            self.documents = documents
            self.queries = queries
        }
    }

    /// How to derive a train split when the folder has only one judged split.
    public struct SplitRecipe: Codable, Sendable, Equatable {
        public var trainFraction: Double
        public var seed: UInt64
        public init(trainFraction: Double = 0.5, seed: UInt64 = 1) {
            self.trainFraction = trainFraction
            self.seed = seed
        }
        enum CodingKeys: String, CodingKey {
            case trainFraction = "train_fraction"
            case seed
        }

        public init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.init(
                trainFraction: try container.decodeIfPresent(Double.self, forKey: .trainFraction) ?? 0.5,
                seed: try container.decodeIfPresent(UInt64.self, forKey: .seed) ?? 1)
        }
    }

    /// Gate thresholds in force for this dataset instead of the policy configuration's, and why.
    public struct GateOverride: Codable, Sendable, Equatable {
        public var thresholds: [String: Double]
        public var reason: String
        public init(thresholds: [String: Double], reason: String) {
            self.thresholds = thresholds
            self.reason = reason
        }
    }

    public var id: String
    public var name: String?
    public var source: String?
    public var commit: String?
    public var license: String?
    public var size: Size?
    /// Split name → number of judged queries.
    public var splits: [String: Int]?
    public var categories: [String]?
    public var updated: String?
    public var embeddings: String?
    public var derivedSplit: SplitRecipe?
    public var gates: GateOverride?
    public var inferred: Bool?

    public init(id: String) { self.id = id }

    enum CodingKeys: String, CodingKey {
        case id, name, source, commit, license, size, splits, categories, updated, embeddings, gates, inferred
        case derivedSplit = "derived_split"
    }

    public static func load(from url: URL) throws -> DatasetManifest {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw DatasetError.missingFile(url.path)
        }
        do {
            let manifest = try YAMLDocument.decode(DatasetManifest.self, from: text)
            try manifest.validate(file: url.path)
            return manifest
        } catch let error as DatasetError {
            throw error
        } catch {
            throw DatasetError.manifest(file: url.path, reason: "\(error)")
        }
    }

    func validate(file: String) throws {
        if id.isEmpty { throw DatasetError.manifest(file: file, reason: "field 'id' must not be empty") }
        if let recipe = derivedSplit, !(recipe.trainFraction > 0 && recipe.trainFraction < 1) {
            throw DatasetError.manifest(
                file: file,
                reason: "field 'derived_split.train_fraction' is \(recipe.trainFraction), allowed range (0, 1)")
        }
    }
}
