import Foundation
import NumericCore

/// A trained RAG tuning policy, ready to serve: `decide` turns a request's ``PolicyContext`` into
/// the settings to use and the probability of that choice under the policy.
///
/// ```swift
/// let policy = try RAGPolicy(contentsOf: URL(fileURLWithPath: "runs/<id>/policy.ckpt"))
/// let context = PolicyContext(category: "warranty", faithfulness: 0.8, relevancy: 0.7,
///                             latencyP50Milliseconds: 120, latencyP95Milliseconds: 300,
///                             costUSD: 0.002, corpusDocuments: 480)
/// let decision = policy.decide(context)                          // the mode of every head
/// let explored = policy.decide(context, mode: .sampled(seed: 7))  // a draw, reproducible by seed
/// decision.settings.k, decision.settings.variant, decision.probability
/// ```
///
/// Immutable once loaded, so one instance serves any number of concurrent requests; a call
/// allocates nothing (its scratch lives on the stack). To switch checkpoints while serving, hold
/// it in a ``PolicyHandle``.
public final class RAGPolicy: @unchecked Sendable {
    /// A content hash of the checkpoint (16 hex digits): which policy made a logged decision.
    public let version: String
    public let features: ContextFeatures
    public let layout: RAGActionLayout
    public let checkpoint: PolicyCheckpoint
    public var featureCount: Int { mean.count }

    private let layers: [RowDenseLayer]
    /// Read only through its acting methods (`mode`, `sample`), which touch no mutable state;
    /// that is what makes sharing it across threads sound.
    private let distribution: MixedDistribution
    private let logStd: [Float]
    private let mean: [Double]
    private let inverseStd: [Double]
    private let clip: Double
    private let widest: Int
    private let scratchCount: Int
    /// Per category feature, the settings it is served without asking the network and their
    /// stored action (``PolicyCheckpoint/sharedSettings``, ``PolicyCheckpoint/categorySettings``);
    /// `fixedForUnseen`: those of a category the policy never saw.
    private let fixed: [(settings: RAGSettings, action: [Float])?]
    private let fixedForUnseen: (settings: RAGSettings, action: [Float])?

    public enum LoadError: Error, CustomStringConvertible {
        case notServable(path: String, reason: String)
        public var description: String {
            switch self {
            case let .notServable(path, reason): "\(path): this checkpoint cannot serve RAG decisions: \(reason)"
            }
        }
    }

    /// Loads and verifies a checkpoint file (format version, kind, checksum, shapes).
    public convenience init(contentsOf url: URL) throws {
        try self.init(bytes: TensorArchive.bytes(at: url), path: url.path)
    }

    /// Loads and verifies a checkpoint from its bytes; `path` only labels errors.
    public convenience init(bytes: Data, path: String = "<memory>") throws {
        let checkpoint = try PolicyCheckpoint(archive: TensorArchive(decoding: bytes, path: path), path: path)
        try self.init(checkpoint: checkpoint, version: StableHash.hexDigest(bytes), path: path)
    }

    public init(checkpoint: PolicyCheckpoint, version: String, path: String = "<memory>") throws {
        guard let features = checkpoint.features else {
            throw LoadError.notServable(path: path, reason: "it holds no context-feature layout (a policy of another task)")
        }
        do {
            layout = try RAGActionLayout(checkpoint.architecture.actionSpace)
        } catch {
            throw LoadError.notServable(path: path, reason: "\(error)")
        }
        guard features.count(for: layout) == checkpoint.architecture.observationSize else {
            throw LoadError.notServable(
                path: path, reason: "its features make \(features.count(for: layout)) values, the network reads \(checkpoint.architecture.observationSize)")
        }
        // `encode` reads five medians and spreads and divides by the spreads.
        if let robust = features.robust,
           !(robust.median.count == 5 && robust.spread.count == 5 && robust.median.allSatisfy(\.isFinite)
             && robust.spread.allSatisfy({ $0.isFinite && $0 > 0 })) {
            throw LoadError.notServable(
                path: path, reason: "its robust scaling has medians \(robust.median) and spreads \(robust.spread) (five each, finite, spreads > 0)")
        }
        let network = checkpoint.makeNetwork()
        self.version = version
        self.features = features
        self.checkpoint = checkpoint
        layers = network.actor.layers.map { RowDenseLayer($0, arena: network.arena) }
        distribution = network.distribution
        logStd = network.logStd.map { Array(UnsafeBufferPointer(start: $0, count: checkpoint.architecture.actionSpace.logStdCount)) } ?? []
        let normalizer = checkpoint.normalizer
        mean = normalizer.mean
        inverseStd = normalizer.variance.map { 1 / ($0 + 1e-8).squareRoot() }
        clip = normalizer.clip
        widest = layers.map(\.outputs).max()!
        scratchCount = checkpoint.architecture.actionSpace.scratchCount
        let layout = self.layout
        func stored(_ settings: RAGSettings, _ what: String) throws -> (settings: RAGSettings, action: [Float]) {
            guard let action = layout.storedAction(settings), layout.fusionRange.contains(settings.fusionWeight) else {
                throw LoadError.notServable(path: path, reason: "its \(what) settings \(settings) lie outside its action bounds")
            }
            return (settings, action)
        }
        let shared = try checkpoint.sharedSettings.map { try stored($0, "shared") }
        guard shared != nil || checkpoint.sharedCategories.isEmpty else {
            throw LoadError.notServable(path: path, reason: "it names categories served the shared settings but holds none")
        }
        let categories = features.categories
        for (category, what) in checkpoint.sharedCategories.map({ ($0, "the shared") }) + checkpoint.categorySettings.keys.sorted().map({ ($0, "its own") })
        where !categories.contains(category) {
            throw LoadError.notServable(path: path, reason: "it serves category '\(category)' \(what) settings, but was not trained on it")
        }
        fixed = try categories.map { category in
            if let own = checkpoint.categorySettings[category] {
                do { return try stored(try RAGSettings(own), "category '\(category)'") } catch let problem as KnobProblem {
                    throw LoadError.notServable(path: path, reason: "category '\(category)' is served \(own): \(problem)")
                }
            }
            return checkpoint.sharedCategories.contains(category) ? shared : nil
        }
        fixedForUnseen = shared
    }

    /// The fixed settings of the category in features `x` (its one-hot, all 0 for a category
    /// never seen), if it is served some.
    private func fixedSettings(_ x: UnsafeBufferPointer<Float>) -> (settings: RAGSettings, action: [Float])? {
        guard let hot = fixed.indices.first(where: { x[$0] > 0.5 }) else { return fixedForUnseen }
        return fixed[hot]
    }

    /// The stored action of the fixed settings when the category in features `x` is served them:
    /// what off-policy evaluation treats as the target's only action there.
    public func fixedAction(features x: UnsafeBufferPointer<Float>) -> [Float]? { fixedSettings(x)?.action }

    /// Those of `categories` the policy was not trained on: their requests get the shared settings
    /// where the checkpoint has them, else what the network chooses for a category it never saw
    /// (every category feature off) — which a service should know.
    public func unknownCategories(_ categories: some Sequence<String>) -> [String] {
        Set(categories).subtracting(features.categories).sorted()
    }

    /// How to turn the policy's distribution into one choice.
    public enum Mode: Sendable, Hashable {
        /// The most probable value of every head (the mean for the fusion weight).
        case deterministic
        /// A draw from the policy, reproducible from `seed` (a request id's hash, say).
        case sampled(seed: UInt64)
    }

    /// The settings for a request with this context. Allocation-free.
    public func decide(_ context: PolicyContext, mode: Mode = .deterministic) -> Decision {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: featureCount) { x in
            features.encode(context, layout: layout, into: x)
            return decide(features: UnsafeBufferPointer(x), mode: mode)
        }
    }

    /// The decision for already-built features (``ContextFeatures/encode(_:layout:into:)``), as
    /// logged decisions and replays have them.
    public func decide(features x: UnsafeBufferPointer<Float>, mode: Mode = .deterministic) -> Decision {
        precondition(x.count == featureCount, "policy reads \(featureCount) features, got \(x.count)")
        if let fixed = fixedSettings(x) {
            return Decision(settings: fixed.settings, policyVersion: version, fusionWeightSample: fixed.settings.fusionWeight, logProbability: 0,
                            indices: (Int(fixed.action[0]), Int(fixed.action[1]), Int(fixed.action[4])))
        }
        let n = featureCount
        // [ input n | A | B ], A and B alternate as layer outputs; the one not holding the
        // actor's output then holds the action and the softmax scratch.
        let width = max(widest, 5 + scratchCount)
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: n + 2 * width) { buffer in
            let input = buffer.baseAddress!
            let a = input + n
            let b = a + width
            for i in 0..<n {
                let z = (Double(x[i]) - mean[i]) * inverseStd[i]
                // A signal the service could not measure (NaN, ±∞) reads as the training mean, so
                // one bad input costs a typical decision, not the process.
                input[i] = z.isFinite ? Float(min(max(z, -clip), clip)) : 0
            }
            var source = UnsafePointer(input)
            var target = a
            for layer in layers {
                layer.forward(source, into: target)
                source = UnsafePointer(target)
                target = target == a ? b : a
            }
            let action = target
            let scratch = target + 5
            let logProbability = logStd.withUnsafeBufferPointer { s in
                switch mode {
                case .deterministic:
                    distribution.mode(outputs: source, logStd: s.baseAddress, mask: nil, into: action, scratch: scratch)
                case let .sampled(seed):
                    { () -> Float in
                        var rng = RandomGenerator(seed: seed)
                        return distribution.sample(outputs: source, logStd: s.baseAddress, mask: nil, into: action, scratch: scratch, using: &rng)
                    }()
                }
            }
            return Decision(
                settings: layout.settings(stored: action), policyVersion: version, fusionWeightSample: Double(action[3]),
                logProbability: Double(logProbability), indices: (Int(action[0]), Int(action[1]), Int(action[4])))
        }
    }
}
