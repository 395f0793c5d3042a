import Foundation
import Evaluation
import NumericCore
import PPO
import Retrieval
import TunerPolicy

/// The tuning task PPO learns on: each step the tuner sees the category of the next batch of
/// questions and the pipeline's recent behaviour, chooses a whole configuration through the
/// mixed heads, and receives the batch's reward.
///
/// An episode is `batchesPerEpisode` batches of `batchSize` queries drawn (seeded, with
/// replacement) from one category each; categories follow a mix drawn per episode that is
/// redrawn with probability `drift` between batches. The observation holds the next batch's
/// category (one-hot), exponentially smoothed faithfulness, relevancy, p50/p95 latency and cost
/// of the batches so far, the configuration in force (encoded), and the corpus size — each
/// scaled to a unit range and clipped to ±3. Scores come from an `EvaluationCache`, so a step
/// costs about a batch × 1 µs.
public struct RAGTuningEnvironment: Environment {
    public struct Options: Sendable, Codable, Equatable {
        public var batchSize = 100
        public var batchesPerEpisode = 8
        public var drift = 0.3
        /// Weight of the newest batch in the smoothed metrics.
        public var smoothing = 0.5
        public init() {}
    }

    public let cache: EvaluationCache
    public let reward: RewardFunction
    public let options: Options
    public let actionSpace: ActionSpace
    public let observationSize: Int
    let variants: [RAGConfiguration.Variant]
    let templates: [PromptTemplate]
    let kRange: ClosedRange<Int>
    /// Cache positions of each category's queries.
    let members: [[Int]]
    let initialMetrics: [Double]
    /// The reward with each category's gates (a mixed-domain union keeps each dataset's own).
    let categoryRewards: [RewardFunction]
    let workspace: EvaluationCache.Workspace

    private var rng: RandomGenerator
    private var mix: [Double] = []
    private var category = 0
    private var metrics: [Double]
    private var configuration: RAGConfiguration
    private var step = 0

    /// The configuration the environment starts from: the policy configuration's default.
    public static let defaultConfiguration = RAGConfiguration()

    public init(cache: EvaluationCache, reward: RewardFunction, actions: PolicyConfiguration.ActionBounds, options: Options = Options(), seed: UInt64) {
        self.cache = cache
        self.reward = reward
        self.options = options
        variants = actions.variants.compactMap(RAGConfiguration.Variant.init(rawValue:))
        templates = actions.templates.compactMap(PromptTemplate.init(rawValue:))
        kRange = actions.topK
        var heads: [ActionHead] = [.categorical("variant", choices: variants.map(\.rawValue))]
        heads.append(.discrete("k", kRange))
        heads.append(.bernoulli("rerank"))
        heads.append(.continuous("fusion_weight", actions.fusionWeight))
        heads.append(.categorical("template", choices: templates.map(\.rawValue)))
        actionSpace = ActionSpace(heads)
        categoryRewards = cache.categories.map { reward.forCategory($0) }
        members = (0..<cache.categories.count).map { c in (0..<cache.queries.count).filter { cache.categoryIndex(at: $0) == c } }
        workspace = cache.makeWorkspace()
        configuration = Self.defaultConfiguration
        rng = RandomGenerator(seed: seed)
        let start = (try? cache.evaluate(Self.defaultConfiguration, reward: reward, workspace: workspace).overall)
        initialMetrics = start.map { [$0.faithfulness, $0.relevancy, $0.latencyP50Milliseconds, $0.latencyP95Milliseconds, $0.costUSD] } ?? [0, 0, 0, 0, 0]
        metrics = initialMetrics
        observationSize = cache.categories.count + 5 + variants.count + 4 + templates.count
    }

    public mutating func reset() -> [Float] {
        step = 0
        metrics = initialMetrics
        configuration = Self.defaultConfiguration
        drawMix()
        drawCategory()
        return observation()
    }

    public mutating func step(_ action: [Double]) -> StepResult {
        configuration = configuration(for: action)
        let summary = evaluateBatch(configuration, category: category)
        let a = options.smoothing
        let latest = [summary.faithfulness, summary.relevancy, summary.latencyP50Milliseconds, summary.latencyP95Milliseconds, summary.costUSD]
        for i in metrics.indices { metrics[i] = (1 - a) * metrics[i] + a * latest[i] }
        step += 1
        if rng.uniform() < options.drift { drawMix() }
        drawCategory()
        return StepResult(observation: observation(), reward: summary.reward.reward, terminated: false, truncated: step >= options.batchesPerEpisode)
    }

    /// The configuration an action (environment values, head order as `actionSpace`) names.
    public static func configuration(
        _ action: [Double], variants: [RAGConfiguration.Variant], templates: [PromptTemplate], kRange: ClosedRange<Int>
    ) -> RAGConfiguration {
        RAGConfiguration(
            variant: variants[Int(action[0])], k: min(max(Int(action[1]), kRange.lowerBound), kRange.upperBound),
            rerank: action[2] > 0.5, fusionWeight: action[3], template: templates[Int(action[4])])
    }

    /// The configuration an action names; re-ranking is off when the dataset trained no re-ranker.
    public func configuration(for action: [Double]) -> RAGConfiguration {
        var c = Self.configuration(action, variants: variants, templates: templates, kRange: kRange)
        if cache.system.reranker == nil { c.rerank = false }
        return c
    }

    /// The observation at the start of an episode whose first batch is of `category`.
    public func initialObservation(category c: Int) -> [Float] {
        var copy = self
        copy.metrics = initialMetrics
        copy.configuration = Self.defaultConfiguration
        copy.category = c
        return copy.observation()
    }

    private mutating func drawMix() {
        let raw = (0..<members.count).map { members[$0].isEmpty ? 0 : -log(1 - rng.uniform()) }
        let total = raw.reduce(0, +)
        mix = raw.map { $0 / total }
    }

    private mutating func drawCategory() { category = rng.categorical(mix) }

    private mutating func evaluateBatch(_ c: RAGConfiguration, category: Int) -> MetricsSummary {
        let pool = members[category]
        var outcomes: [QueryOutcome] = []
        outcomes.reserveCapacity(options.batchSize)
        for _ in 0..<options.batchSize {
            // `configuration(for:)` turns re-ranking off when there is no re-ranker, the one
            // case the cache refuses.
            outcomes.append(try! cache.outcome(at: pool[rng.bounded(pool.count)], configuration: c, workspace: workspace))
        }
        return MetricsSummary(outcomes, reward: categoryRewards[category])
    }

    private func observation() -> [Float] {
        var x = [Double](repeating: 0, count: observationSize)
        x[category] = 1
        var i = members.count
        let scales = [1, 1, reward.weights.latencyTargetMilliseconds, reward.weights.latencyTargetMilliseconds, reward.weights.costReferenceUSD]
        for (m, s) in zip(metrics, scales) { x[i] = m / s; i += 1 }
        x[i + variants.firstIndex(of: configuration.variant)!] = 1
        i += variants.count
        x[i] = Double(configuration.k - kRange.lowerBound) / Double(kRange.upperBound - kRange.lowerBound)
        x[i + 1] = configuration.rerank ? 1 : 0
        x[i + 2] = configuration.fusionWeight
        x[i + 3] = log10(Double(cache.system.dataset.documents.count)) / 6
        i += 4
        x[i + templates.firstIndex(of: configuration.template)!] = 1
        return x.map { Float(min(max($0, -3), 3)) }
    }

    public var snapshot: EnvironmentSnapshot {
        EnvironmentSnapshot(
            values: mix + metrics + [Double(category), Double(step)] + [
                Double(variants.firstIndex(of: configuration.variant)!), Double(configuration.k), configuration.rerank ? 1 : 0,
                configuration.fusionWeight, Double(templates.firstIndex(of: configuration.template)!),
            ],
            words: rng.stateWords)
    }

    public mutating func restore(_ snapshot: EnvironmentSnapshot) {
        let v = snapshot.values
        let c = members.count
        mix = Array(v[0..<c])
        metrics = Array(v[c..<(c + 5)])
        category = Int(v[c + 5])
        step = Int(v[c + 6])
        configuration = configuration(for: Array(v[(c + 7)...]))
        rng = RandomGenerator(state: snapshot.words)
    }
}
