import Foundation
import NumericCore

/// What a run over a service's own knobs deploys: the knob declaration it was tuned under, the
/// configuration it chose for each category, and the one served to categories it never saw, in
/// one checksummed ``TensorArchive`` of kind "configuration-table".
///
/// It answers `POST /decide` for services not written in Swift: a category's configuration, with
/// probability 1, since nothing is drawn.
///
/// ```swift
/// let table = try ConfigurationTable(contentsOf: URL(fileURLWithPath: "runs/<id>/policy.ckpt"))
/// table.decide(category: "short")   // {"answer_model": "small", "top_k": 5, …}
/// ```
public final class ConfigurationTable: Sendable, FileServable {
    public static let kind = "configuration-table"
    public static let formatVersion = 1

    public let knobs: KnobDeclaration
    public let categories: [String: Configuration]
    public let unseen: Configuration
    /// A content hash of the file (16 hex digits): which table made a logged decision.
    public let version: String

    public enum LoadError: Error, CustomStringConvertible {
        case invalid(path: String, reason: String)
        public var description: String {
            switch self {
            case let .invalid(path, reason): "\(path): this configuration table cannot serve: \(reason)"
            }
        }
    }

    private struct Contents: Codable {
        var knobs: KnobDeclaration
        var categories: [String: Configuration]
        var unseen: Configuration
    }

    /// A table of `categories` under `knobs`; every configuration must be one the declaration
    /// accepts as it stands (canonical), or the table would serve what was never evaluated.
    public convenience init(knobs: KnobDeclaration, categories: [String: Configuration], unseen: Configuration) throws {
        let contents = Contents(knobs: knobs, categories: categories, unseen: unseen)
        let bytes = try Self.archive(contents).encoded()
        try self.init(contents, version: StableHash.hexDigest(bytes), path: "<memory>")
    }

    public convenience init(contentsOf url: URL) throws {
        try self.init(bytes: TensorArchive.bytes(at: url), path: url.path)
    }

    public convenience init(bytes: Data, path: String = "<memory>") throws {
        let contents = try TensorArchive(decoding: bytes, path: path).expecting(Self.kind, version: Self.formatVersion, path: path)
            .decodedMetadata(Contents.self, what: "configuration table", path: path)
        try self.init(contents, version: StableHash.hexDigest(bytes), path: path)
    }

    private init(_ contents: Contents, version: String, path: String) throws {
        for (category, configuration) in [("", contents.unseen)] + contents.categories.sorted(by: { $0.key < $1.key }) {
            let label = category.isEmpty ? "the configuration for unseen categories" : "category '\(category)'"
            guard category.isEmpty || category.utf8.count <= 200 else { throw LoadError.invalid(path: path, reason: "a category name exceeds 200 bytes") }
            if let problem = contents.knobs.problem(in: configuration) {
                throw LoadError.invalid(path: path, reason: "\(label) is served \(configuration): \(problem)")
            }
            guard (try? contents.knobs.canonical(configuration)) == configuration else {
                throw LoadError.invalid(path: path, reason: "\(label) is served \(configuration), which leaves out or misstates a knob of its declaration")
            }
        }
        guard contents.categories.keys.allSatisfy({ !$0.isEmpty }) else { throw LoadError.invalid(path: path, reason: "a category has an empty name") }
        knobs = contents.knobs
        categories = contents.categories
        unseen = contents.unseen
        self.version = version
    }

    private static func archive(_ contents: Contents) throws -> TensorArchive {
        TensorArchive(kind: kind, kindVersion: formatVersion, metadata: try JSONEncoder.sorted.encode(contents))
    }

    public func write(to url: URL) throws {
        try Self.archive(Contents(knobs: knobs, categories: categories, unseen: unseen)).write(to: url)
    }

    /// The configuration for a request of `category`.
    public func decide(category: String) -> Configuration { categories[category] ?? unseen }

    /// Whether the file at `url` is a configuration table rather than a policy network.
    public static func isTable(at url: URL) throws -> Bool {
        try TensorArchive(decoding: TensorArchive.bytes(at: url), path: url.path).kind == kind
    }
}
