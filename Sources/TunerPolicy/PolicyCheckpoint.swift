import Foundation
import NumericCore

/// A deployable policy: architecture (with its action space), observation normalisation,
/// weights and — for a RAG tuning policy — how a service's signals become features, in one
/// checksummed ``TensorArchive`` of kind "policy".
public struct PolicyCheckpoint: Sendable {
    public static let kind = "policy"
    public static let version = 1

    public var architecture: PolicyArchitecture
    public var normalizer: RunningNormalizer
    public var parameters: [Float]
    /// The feature layout a service needs to build observations; nil for policies of other tasks.
    public var features: ContextFeatures?
    /// Which update of its training run this policy is, where the run kept its best update rather
    /// than its last; nil otherwise.
    public var selection: Selection?
    /// Settings served without asking the network: to the categories of `sharedCategories` —
    /// those that earned no configuration of their own on the train split — and to every category
    /// the policy never saw; nil: every category asks the network. It travels in the checkpoint so
    /// a service serves exactly what the verdict judged.
    public var sharedSettings: RAGSettings?
    public var sharedCategories: [String] = []
    /// Settings served to a category without asking the network, where they are its own rather
    /// than the shared ones: a budgeted run's choice for each group of categories under other gates.
    public var categorySettings: [String: Configuration] = [:]
    /// The knobs the network was trained under, as the run's policy file declared them: a server
    /// whose own declaration does not admit them refuses the checkpoint. nil in checkpoints
    /// written before knobs were declared.
    public var knobs: KnobDeclaration?

    /// The update a run kept and the score that chose it.
    public struct Selection: Sendable, Codable, Equatable {
        public var update: Int
        public var score: Double

        public init(update: Int, score: Double) {
            self.update = update
            self.score = score
        }
    }

    public init(architecture: PolicyArchitecture, normalizer: RunningNormalizer, parameters: [Float], features: ContextFeatures? = nil) {
        self.architecture = architecture
        self.normalizer = normalizer
        self.parameters = parameters
        self.features = features
    }

    public init(network: PolicyNetwork, normalizer: RunningNormalizer, features: ContextFeatures? = nil) {
        self.init(architecture: network.architecture, normalizer: normalizer, parameters: network.arena.valueArray, features: features)
    }

    private struct Metadata: Codable {
        var architecture: PolicyArchitecture
        var normalizerCount: Double
        var normalizerClip: Double
        var features: ContextFeatures?
        var selection: Selection?
        var sharedSettings: RAGSettings?
        var sharedCategories: [String]?
        var categorySettings: [String: Configuration]?
        var knobs: KnobDeclaration?
    }

    public func archive() throws -> TensorArchive {
        let metadata = Metadata(
            architecture: architecture, normalizerCount: normalizer.count, normalizerClip: normalizer.clip, features: features, selection: selection,
            sharedSettings: sharedSettings, sharedCategories: sharedCategories, categorySettings: categorySettings.isEmpty ? nil : categorySettings,
            knobs: knobs)
        return TensorArchive(
            kind: Self.kind, kindVersion: Self.version, metadata: try JSONEncoder.sorted.encode(metadata),
            floats: ["parameters": parameters],
            words: ["normalizer.mean": normalizer.mean.map(\.bitPattern), "normalizer.variance": normalizer.variance.map(\.bitPattern)])
    }

    public init(archive: TensorArchive, path: String = "<memory>") throws {
        let metadata = try archive.expecting(Self.kind, version: Self.version, path: path).decodedMetadata(Metadata.self, what: "policy metadata", path: path)
        guard let mean = archive.words["normalizer.mean"], let variance = archive.words["normalizer.variance"] else {
            throw TensorArchive.ReadError.missingTensor(path: path, name: "normalizer.mean/variance")
        }
        try Self.validate(metadata.architecture, path: path)
        guard mean.count == variance.count else {
            throw TensorArchive.ReadError.malformedHeader(
                path: path, reason: "tensors 'normalizer.mean' and 'normalizer.variance' hold \(mean.count) and \(variance.count) values; they must match")
        }
        architecture = metadata.architecture
        normalizer = RunningNormalizer(mean: mean.map(Double.init(bitPattern:)), variance: variance.map(Double.init(bitPattern:)),
                                       count: metadata.normalizerCount, clip: metadata.normalizerClip)
        parameters = try archive.floats("parameters", path: path)
        features = metadata.features
        selection = metadata.selection
        sharedSettings = metadata.sharedSettings
        sharedCategories = metadata.sharedCategories ?? []
        categorySettings = metadata.categorySettings ?? [:]
        knobs = metadata.knobs
        // Counted before the network is allocated: an architecture far larger than the weights the
        // file holds would otherwise allocate its arena first (gigabytes for a forged header).
        let weights = [architecture.actorSpec, architecture.criticSpec].reduce(architecture.actionSpace.logStdCount) { total, spec in
            zip(spec.sizes, spec.sizes.dropFirst()).reduce(total) { $0 + $1.0 * $1.1 + $1.1 }
        }
        guard weights <= parameters.count else {
            throw TensorArchive.ReadError.malformedHeader(
                path: path, reason: "the architecture needs at least \(weights) parameters, the file holds \(parameters.count)")
        }
        let expected = PolicyNetwork(architecture: architecture).arena.count
        guard parameters.count == expected, normalizer.size == architecture.observationSize else {
            throw TensorArchive.ReadError.malformedHeader(
                path: path, reason: "\(parameters.count) parameters and \(normalizer.size) normalised features for an architecture that needs \(expected) and \(architecture.observationSize)")
        }
        // A checksum proves the bytes are the ones written, not that they can serve: weights of
        // NaN once passed it and crashed the first decision.
        if let i = parameters.firstIndex(where: { !$0.isFinite || abs($0) > Self.largestWeight }) {
            throw TensorArchive.ReadError.malformedHeader(
                path: path, reason: "tensor 'parameters' has \(parameters[i]) at index \(i) (weights must be finite, within ±\(Int(Self.largestWeight)))")
        }
        if let i = normalizer.mean.indices.first(where: { !normalizer.mean[$0].isFinite || !(normalizer.variance[$0] >= 0 && normalizer.variance[$0].isFinite) }) {
            throw TensorArchive.ReadError.malformedHeader(
                path: path, reason: "normaliser feature \(i) has mean \(normalizer.mean[i]) and variance \(normalizer.variance[i]) (finite, variance ≥ 0)")
        }
        guard normalizer.clip.isFinite && normalizer.clip > 0 else {
            throw TensorArchive.ReadError.malformedHeader(path: path, reason: "normaliser clip \(normalizer.clip) (finite, > 0)")
        }
    }

    /// No trained policy comes near it; a weight past it is a corrupted or hostile file.
    static let largestWeight: Float = 1e6

    /// An architecture this build can hold and decide with, before anything is allocated for it.
    static func validate(_ a: PolicyArchitecture, path: String) throws {
        func refuse(_ reason: String) -> TensorArchive.ReadError { .malformedHeader(path: path, reason: "architecture: \(reason)") }
        guard (1...100_000).contains(a.observationSize) else { throw refuse("observation size \(a.observationSize), allowed 1...100000") }
        guard (1...8).contains(a.hiddenSizes.count), a.hiddenSizes.allSatisfy({ (1...4096).contains($0) }) else {
            throw refuse("hidden sizes \(a.hiddenSizes), allowed 1 to 8 widths in 1...4096")
        }
        guard a.logStdLower.isFinite, a.logStdUpper.isFinite, a.logStdLower < a.logStdUpper else {
            throw refuse("log-std range \(a.logStdLower)...\(a.logStdUpper)")
        }
        if let problem = a.actionSpace.problem { throw refuse(problem) }
    }

    public func write(to url: URL) throws { try archive().write(to: url) }

    public static func read(from url: URL) throws -> PolicyCheckpoint {
        try PolicyCheckpoint(archive: TensorArchive.read(from: url, expecting: kind, version: version), path: url.path)
    }

    /// A network holding these weights.
    public func makeNetwork() -> PolicyNetwork {
        let network = PolicyNetwork(architecture: architecture)
        network.arena.load(values: parameters)
        return network
    }
}
