import Foundation
import NumericCore
import TunerPolicy

/// What a version tells the service to apply: settings for every category, with a default for
/// categories it does not name. This is a version's `configuration` JSON.
public struct ProductionConfiguration: Sendable, Codable, Equatable {
    public var `default`: RAGSettings
    public var categories: [String: RAGSettings]

    public init(default settings: RAGSettings = RAGSettings(), categories: [String: RAGSettings] = [:]) {
        self.default = settings
        self.categories = categories
    }

    public func settings(for category: String) -> RAGSettings { categories[category] ?? self.default }

    /// This configuration with `category` served `settings`.
    public func setting(_ category: String, to settings: RAGSettings) -> ProductionConfiguration {
        var next = self
        next.categories[category] = settings
        return next
    }

    public func json() throws -> String { String(decoding: try JSONEncoder.sorted.encode(self), as: UTF8.self) }

    public init(json: String) throws {
        self = try JSONDecoder().decode(ProductionConfiguration.self, from: Data(json.utf8))
    }
}
