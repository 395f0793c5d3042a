import Foundation
import NumericCore
import Pipeline
import Scoring
import TunerPolicy

/// Per-call latency of ``RAGPolicy/decide(_:mode:)``, as `tuner bench decide` and the
/// allocation benchmark measure it: single thread, release build, each call timed on its own
/// (two monotonic clock reads, about 20 ns, are included), over contexts varied per call.
public enum DecisionBenchmark {
    public struct Result: Sendable, Codable {
        public var mode: String
        public var calls: Int
        public var p50Microseconds: Double
        public var p99Microseconds: Double
        public var meanMicroseconds: Double

        enum CodingKeys: String, CodingKey {
            case mode, calls
            case p50Microseconds = "p50_us"
            case p99Microseconds = "p99_us"
            case meanMicroseconds = "mean_us"
        }
    }

    /// The default network (``PolicyArchitecture``'s 64-64 tanh actor) over the default action
    /// bounds and the demo dataset's categories, with PPO's initialisation: what a freshly
    /// trained `tuner train` run on the demo data deploys. Latency does not depend on the weights.
    public static func defaultPolicy(seed: UInt64 = 1) throws -> RAGPolicy {
        let actions = PolicyConfiguration.ActionBounds(variants: EvaluationSetup.variantNames, templates: EvaluationSetup.templateNames)
        let layout = RAGActionLayout(actions)
        let weights = PolicyConfiguration.RewardWeights()
        // Robust scaling and the corpus's age, as a run trains them (latency does not depend on the statistics).
        let robust = ContextFeatures.RobustScaling(samples: [[0.5, 0.5, 0.5, 0.5, 0.5], [1.5, 1.5, 1.5, 1.5, 1.5]])
        let features = ContextFeatures(categories: ["error_code", "overview", "warranty"],
                                       latencyScaleMilliseconds: weights.latencyTargetMilliseconds, costScaleUSD: weights.costReferenceUSD,
                                       robust: robust, corpusAge: true)
        let network = PolicyNetwork(architecture: PolicyArchitecture(observationSize: features.count(for: layout), actionSpace: layout.actionSpace))
        var rng = RandomGenerator(seed: seed)
        try network.initialize(using: &rng)
        let checkpoint = PolicyCheckpoint(network: network, normalizer: RunningNormalizer(size: network.architecture.observationSize), features: features)
        return try RAGPolicy(bytes: checkpoint.archive().encoded(), path: "<default network>")
    }

    /// `count` contexts spread over the policy's categories, metrics and settings.
    public static func contexts(for policy: RAGPolicy, count: Int, seed: UInt64 = 1) -> [PolicyContext] {
        var rng = RandomGenerator(seed: seed)
        let layout = policy.layout
        let categories = policy.features.categories + ["unseen"]
        return (0..<count).map { _ in
            PolicyContext(
                category: categories[rng.bounded(categories.count)], faithfulness: rng.uniform(), relevancy: rng.uniform(),
                latencyP50Milliseconds: rng.uniform(in: 20..<400), latencyP95Milliseconds: rng.uniform(in: 50..<900),
                costUSD: rng.uniform(in: 0..<0.004),
                current: RAGSettings(
                    variant: layout.variants[rng.bounded(layout.variants.count)],
                    k: layout.kRange.lowerBound + rng.bounded(layout.kRange.count), rerank: rng.uniform() < 0.5,
                    fusionWeight: rng.uniform(), template: layout.templates[rng.bounded(layout.templates.count)]),
                corpusDocuments: 100 + rng.bounded(1_000_000), corpusAgeDays: rng.uniform() < 0.5 ? nil : rng.uniform(in: 0..<2000))
        }
    }

    /// Times `calls` decisions after `warmup` untimed ones; sampled mode seeds each call by its
    /// index, as a service seeding by request id would.
    public static func run(_ policy: RAGPolicy, sampled: Bool, calls: Int = 200_000, warmup: Int = 20_000) -> Result {
        let contexts = contexts(for: policy, count: 1024)
        var sink = 0
        func decide(_ i: Int) {
            let decision = policy.decide(contexts[i & 1023], mode: sampled ? .sampled(seed: UInt64(i)) : .deterministic)
            sink &+= decision.settings.k
        }
        for i in 0..<warmup { decide(i) }
        var nanoseconds = [UInt64](repeating: 0, count: calls)
        for i in 0..<calls {
            let start = monotonicNanoseconds()
            decide(i)
            nanoseconds[i] = monotonicNanoseconds() - start
        }
        precondition(sink != 0, "decisions were optimised away")
        nanoseconds.sort()
        func percentile(_ p: Double) -> Double { Double(nanoseconds[min(calls - 1, Int(p * Double(calls)))]) / 1000 }
        return Result(mode: sampled ? "sampled" : "deterministic", calls: calls, p50Microseconds: percentile(0.5),
                      p99Microseconds: percentile(0.99),
                      meanMicroseconds: Double(nanoseconds.reduce(0, +)) / Double(calls) / 1000)
    }

    @inline(__always)
    static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
