import Foundation
import NumericCore
import TunerPolicy

/// A RAG policy with weights large enough that decisions differ from context to context, and a
/// spread of contexts to ask it about.
enum PolicyFixture {
    static let layout = RAGActionLayout(variants: [.bm25, .dense, .hybrid, .rrf], kRange: 3...32, fusionRange: 0...1,
                                        templates: [.ranked, .truncated, .budgeted, .sandwich])
    static let features = ContextFeatures(categories: ["error_code", "overview", "warranty"],
                                          latencyScaleMilliseconds: 500, costScaleUSD: 0.002)

    static func checkpoint(seed: UInt64, hidden: [Int] = [64, 64], k: RAGActionLayout.KDistribution = .logNormal) throws -> PolicyCheckpoint {
        var rng = RandomGenerator(seed: seed)
        let size = features.count(for: layout)
        let space = RAGActionLayout(variants: layout.variants, kRange: layout.kRange, kDistribution: k,
                                    fusionRange: layout.fusionRange, templates: layout.templates).actionSpace
        let network = PolicyNetwork(architecture: PolicyArchitecture(observationSize: size, actionSpace: space, hiddenSizes: hidden))
        try network.initialize(using: &rng)
        for i in 0..<network.arena.count { network.arena.values[i] += Float(rng.normal()) * 0.3 }
        for i in 0..<space.logStdCount { network.logStd![i] = -1.5 }
        var normalizer = RunningNormalizer(size: size)
        let observations = Matrix(rows: 64, cols: size, storage: (0..<(64 * size)).map { _ in Float(rng.normal()) * 0.5 + 0.3 })
        observations.withView { normalizer.update($0) }
        return PolicyCheckpoint(network: network, normalizer: normalizer, features: features)
    }

    static func bytes(seed: UInt64) throws -> Data { try checkpoint(seed: seed).archive().encoded() }

    static func policy(seed: UInt64) throws -> RAGPolicy { try RAGPolicy(bytes: bytes(seed: seed)) }

    static func contexts(_ count: Int, seed: UInt64 = 3) -> [PolicyContext] {
        var rng = RandomGenerator(seed: seed)
        let categories = features.categories + ["never_seen"]
        return (0..<count).map { _ in
            PolicyContext(
                category: categories[rng.bounded(categories.count)], faithfulness: rng.uniform(), relevancy: rng.uniform(),
                latencyP50Milliseconds: rng.uniform(in: 10..<600), latencyP95Milliseconds: rng.uniform(in: 50..<2000),
                costUSD: rng.uniform(in: 0..<0.01),
                current: RAGSettings(variant: layout.variants[rng.bounded(4)], k: 3 + rng.bounded(30), rerank: rng.uniform() < 0.5,
                                     fusionWeight: rng.uniform(), template: layout.templates[rng.bounded(4)]),
                corpusDocuments: 1 + rng.bounded(2_000_000))
        }
    }
}
