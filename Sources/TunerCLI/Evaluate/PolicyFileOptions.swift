import ArgumentParser
import Foundation
import Pipeline
import Scoring

/// The policy configuration a command judges by: reward weights, gates and action bounds.
struct PolicyFileOptions: ParsableArguments {
    @Option(help: "Policy configuration: reward weights, gates, action bounds (default: \(Self.defaultFile) when present, else built-in defaults).")
    var policy: String?

    static let defaultFile = "configs/rl/policy.defaults.yaml"

    /// The configuration in --policy, else in the default file when present, else the built-in defaults.
    func load() throws -> PolicyConfiguration {
        let file = policy ?? (FileManager.default.fileExists(atPath: Self.defaultFile) ? Self.defaultFile : nil)
        return try file.map {
            try PolicyConfiguration.load(from: URL(fileURLWithPath: $0), variants: EvaluationSetup.variantNames, templates: EvaluationSetup.templateNames)
        } ?? PolicyConfiguration(actions: .init(variants: EvaluationSetup.variantNames, templates: EvaluationSetup.templateNames))
    }
}
