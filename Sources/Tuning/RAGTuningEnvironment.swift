import Foundation
import NumericCore
import Pipeline
import PPO
import Retrieval
import Scoring
import TunerPolicy

/// The tuning task PPO learns on: each step the tuner sees the category of the next batch of
/// questions and the pipeline's recent behaviour, chooses a whole configuration through the
/// mixed heads, and receives the batch's reward (less a baseline that depends only on the batch's
/// questions where the source has one: ``BatchScore/learningReward``).
///
/// An episode is `batchesPerEpisode` batches of `batchSize` queries drawn (seeded, with
/// replacement) from one category each; categories follow a mix drawn per episode that is
/// redrawn with probability `drift` between batches. The observation is ``ContextFeatures``
/// of what a service would report: the next batch's category, exponentially smoothed
/// faithfulness, relevancy, p50/p95 latency and cost of the batches so far, the configuration in
/// force and the corpus size. Batches come from a ``BatchSource``: the evaluation cache (a step
/// costs about a batch × 1 µs), or a remote evaluator.
public struct RAGTuningEnvironment: Environment {
    public struct Options: Sendable, Codable, Equatable {
        /// 300 rather than 100: a gate near its threshold is judged on the batch, and with 100
        /// questions the verdict is close to a coin toss (docs/benchmarks.md, issue 5 study).
        public var batchSize = 300
        public var batchesPerEpisode = 8
        public var drift = 0.3
        /// Weight of the newest batch in the smoothed metrics.
        public var smoothing = 0.5
        /// Heads held at the default configuration's value whatever the policy outputs: an
        /// ablation's "head removed" (``RAGTuningEnvironment/heads``); nil in runs before it existed.
        public var frozenHeads: [String]?
        /// The service context as the specification has it: the five service metrics robustly
        /// scaled (``ContextFeatures/RobustScaling``), the corpus's age a feature, and the corpus's
        /// size and age drawn per episode, log-uniformly (two decades either side of the dataset's
        /// size; 0 to ``ContextFeatures/ageRangeDays`` days) — replayed data cannot vary them, and a policy
        /// trained on one fixed value answers an unseen one arbitrarily. Nil in runs before it
        /// existed, which build the features they were trained on.
        public var robustContext: Bool? = true
        public init() {}
    }

    /// The heads a configuration is chosen by, as ``Options/frozenHeads`` names them.
    public static let heads = ["variant", "k", "rerank", "fusion_weight", "template"]

    /// `c` with `heads` set to the default configuration's values.
    public static func freezing(_ heads: [String], in c: RAGSettings) -> RAGSettings {
        var c = c
        let d = defaultConfiguration
        for head in heads {
            switch head {
            case "variant": c.variant = d.variant
            case "k": c.k = d.k
            case "rerank": c.rerank = d.rerank
            case "fusion_weight": c.fusionWeight = d.fusionWeight
            case "template": c.template = d.template
            default: continue  // refused before any environment is built (``OfflineTuning``)
            }
        }
        return c
    }

    public let source: any BatchSource
    public let reward: RewardFunction
    public let options: Options
    public let actionSpace: ActionSpace
    public let observationSize: Int
    /// The action heads read as settings, and how observations are built: both travel in the
    /// policy checkpoint so a service builds the same features (``RAGPolicy``).
    public let layout: RAGActionLayout
    public let features: ContextFeatures
    /// Which categories have questions to draw.
    let populated: [Bool]
    let initialMetrics: [Double]
    /// The reward with each category's gates (a mixed-domain union keeps each dataset's own).
    let categoryRewards: [RewardFunction]

    private var rng: RandomGenerator
    private var mix: [Double] = []
    private var category = 0
    private var metrics: [Double]
    private var configuration: RAGSettings
    private var step = 0
    /// The corpus the episode's service reports (``Options/robustContext``: drawn per episode).
    private var corpusDocuments: Int
    private var corpusAgeDays: Double?

    /// The configuration the environment starts from: the policy configuration's default.
    public static let defaultConfiguration = RAGSettings()

    /// Starting metrics where none were measured.
    public static let unmeasured = [0.0, 0, 0, 0, 0]

    /// `robust`: the scaling of the service metrics, where the caller measured what they span.
    /// `startingMetrics`: what an episode's observation starts from; nil measures the default
    /// configuration on the source (paid for, against an evaluator).
    public init(source: any BatchSource, reward: RewardFunction, actions: PolicyConfiguration.ActionBounds, options: Options = Options(),
                robust: ContextFeatures.RobustScaling? = nil, startingMetrics: [Double]? = nil, seed: UInt64) {
        self.source = source
        self.reward = reward
        self.options = options
        layout = RAGActionLayout(actions)
        actionSpace = layout.actionSpace
        let context = options.robustContext == true
        features = ContextFeatures(
            categories: source.categories, latencyScaleMilliseconds: reward.weights.latencyTargetMilliseconds,
            costScaleUSD: reward.weights.costReferenceUSD, robust: context ? robust : nil, corpusAge: context ? true : nil)
        corpusDocuments = source.corpusDocuments
        categoryRewards = source.categories.map { reward.forCategory($0) }
        populated = source.categories.map { _ in true }
        configuration = Self.defaultConfiguration
        rng = RandomGenerator(seed: seed)
        initialMetrics = startingMetrics ?? (try? source.overall(Self.defaultConfiguration, reward: reward))?.metrics ?? Self.unmeasured
        metrics = initialMetrics
        observationSize = features.count(for: layout)
    }

    /// An episode starts from a random configuration, so the policy learns its choice from every
    /// configuration a service may be running — the default at launch included — not only from
    /// the default and from its own recent choices.
    public mutating func reset() -> [Float] {
        step = 0
        metrics = initialMetrics
        configuration = randomConfiguration()
        drawMix()
        drawCategory()
        if options.robustContext == true {
            // Log-uniform, as the features see them: every feature value in the range is trained.
            corpusDocuments = max(1, Int((Double(source.corpusDocuments) * pow(10, 4 * rng.uniform() - 2)).rounded()))
            corpusAgeDays = expm1(rng.uniform() * log1p(ContextFeatures.ageRangeDays))
        }
        return observation()
    }

    public mutating func step(_ action: [Double]) -> StepResult {
        configuration = configuration(for: action)
        let summary = evaluateBatch(configuration, category: category)
        let a = options.smoothing
        let latest = summary.metrics
        for i in metrics.indices { metrics[i] = (1 - a) * metrics[i] + a * latest[i] }
        step += 1
        if rng.uniform() < options.drift { drawMix() }
        drawCategory()
        return StepResult(observation: observation(), reward: summary.learningReward, terminated: false, truncated: step >= options.batchesPerEpisode)
    }

    /// The configuration an action names; re-ranking is off when the dataset trained no re-ranker.
    public func configuration(for action: [Double]) -> RAGSettings {
        var c = Self.freezing(options.frozenHeads ?? [], in: layout.settings(environmentValues: action))
        if !source.canRerank { c.rerank = false }
        return source.canonical(c)
    }

    /// The observation at the start of an episode whose first batch is of `category`.
    public func initialObservation(category c: Int) -> [Float] {
        var copy = self
        copy.metrics = initialMetrics
        copy.configuration = Self.defaultConfiguration
        copy.category = c
        // The dataset's own corpus, its age unknown: what the train-split score and the verdict ask.
        copy.corpusDocuments = source.corpusDocuments
        copy.corpusAgeDays = nil
        return copy.observation()
    }

    private mutating func randomConfiguration() -> RAGSettings {
        let f = layout.fusionRange
        return RAGSettings(
            variant: layout.variants[rng.bounded(layout.variants.count)],
            k: layout.kRange.lowerBound + rng.bounded(layout.kRange.count),
            rerank: source.canRerank && rng.uniform() < 0.5,
            fusionWeight: f.lowerBound + rng.uniform() * (f.upperBound - f.lowerBound),
            template: layout.templates[rng.bounded(layout.templates.count)])
    }

    private mutating func drawMix() {
        let raw = populated.map { $0 ? -log(1 - rng.uniform()) : 0 }
        let total = raw.reduce(0, +)
        mix = raw.map { $0 / total }
    }

    private mutating func drawCategory() { category = rng.categorical(mix) }

    private mutating func evaluateBatch(_ c: RAGSettings, category: Int) -> BatchScore {
        do {
            return try source.score(c, category: category, size: options.batchSize, reward: categoryRewards[category], using: &rng)
        } catch {
            // PPO's environments cannot throw; a NaN reward stops the trainer with an error, and
            // the source keeps the failure for the caller to report (``BatchSource/lastFailure``).
            return BatchScore(faithfulness: .nan, relevancy: .nan, latencyP50Milliseconds: .nan, latencyP95Milliseconds: .nan, costUSD: .nan, reward: .nan)
        }
    }

    /// What a service would report at this point: the next batch's category and the smoothed
    /// metrics, settings in force and corpus size.
    private var context: PolicyContext {
        PolicyContext(
            category: source.categories[category], faithfulness: metrics[0], relevancy: metrics[1],
            latencyP50Milliseconds: metrics[2], latencyP95Milliseconds: metrics[3], costUSD: metrics[4],
            current: configuration, corpusDocuments: corpusDocuments, corpusAgeDays: corpusAgeDays)
    }

    private func observation() -> [Float] { features.features(context, layout: layout) }

    public var snapshot: EnvironmentSnapshot {
        EnvironmentSnapshot(
            values: mix + metrics + [Double(category), Double(step)] + [
                Double(layout.variants.firstIndex(of: configuration.variant)!), Double(configuration.k), configuration.rerank ? 1 : 0,
                configuration.fusionWeight, Double(layout.templates.firstIndex(of: configuration.template)!),
            ] + (options.robustContext == true ? [Double(corpusDocuments), corpusAgeDays ?? -1] : []),
            words: rng.stateWords)
    }

    public mutating func restore(_ snapshot: EnvironmentSnapshot) {
        let v = snapshot.values
        let c = populated.count
        mix = Array(v[0..<c])
        metrics = Array(v[c..<(c + 5)])
        category = Int(v[c + 5])
        step = Int(v[c + 6])
        configuration = configuration(for: Array(v[(c + 7)..<(c + 12)]))
        if v.count >= c + 14 {
            corpusDocuments = Int(v[c + 12])
            corpusAgeDays = v[c + 13] < 0 ? nil : v[c + 13]
        }
        rng = RandomGenerator(state: snapshot.words)
    }
}

extension RAGTuningEnvironment {
    /// Kept in the policy checkpoint, so a service that loads it builds the same observation.
    public var contextFeatures: ContextFeatures? { features }
}
