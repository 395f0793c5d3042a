import Scoring
import TunerPolicy

/// The evaluator protocol (docs/openapi.yaml). `GET /tuner/evaluator` describes the evaluator:
/// its question ids per split and category, the gates it judges by and the knobs it lets the
/// tuner set. `POST /tuner/evaluate` takes a configuration (an object of those knobs) and either
/// named questions or a seeded batch, and answers
/// faithfulness, relevancy, latency p50/p95, cost, error rate and the number of queries, overall
/// and per category, and one record per question. The tuner's own server implements it for the
/// built-in pipeline; a team implements it on its staging service and points the trainer at it.
/// An evaluator without the description answers aggregates only: the tuner then draws seeded
/// batches and can neither keep nor pair results per question.
public enum EvaluatorProtocol {
    public struct Batch: Sendable, Hashable, Codable {
        /// Queries to draw (1...`maxBatchSize`).
        public var size: Int
        /// Which split to draw from ("train", "test", …).
        public var split: String
        /// Seeds the draw: the same seed gives the same queries.
        public var seed: UInt64
        /// Draw only questions of this category.
        public var category: String?

        public init(size: Int, split: String = "test", seed: UInt64 = 0, category: String? = nil) {
            self.size = size
            self.split = split
            self.seed = seed
            self.category = category
        }

        enum CodingKeys: String, CodingKey { case size, split, seed, category }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.init(size: try c.decodeWholeNumber(Int.self, forKey: .size), split: try c.decode(String.self, forKey: .split),
                      seed: try c.decodeWholeNumber(UInt64.self, forKey: .seed), category: try c.decodeIfPresent(String.self, forKey: .category))
        }
    }

    public static let maxBatchSize = 5000

    /// Named questions of one split.
    public struct Questions: Sendable, Hashable, Codable {
        public var split: String
        public var ids: [String]
        public init(split: String, ids: [String]) {
            self.split = split
            self.ids = ids
        }
    }

    /// A configuration and what to answer with it: `questions` or `batch`, exactly one.
    public struct Request: Sendable, Hashable, Codable {
        /// A value for each of the evaluator's knobs (`knobs` of its description); one left out
        /// takes its default.
        public var configuration: Configuration
        public var batch: Batch?
        public var questions: Questions?
        public init(configuration: Configuration, batch: Batch) {
            self.configuration = configuration
            self.batch = batch
        }
        public init(configuration: Configuration, questions: Questions) {
            self.configuration = configuration
            self.questions = questions
        }
    }

    /// What one question got under the request's configuration.
    public struct QueryResult: Sendable, Equatable, Codable {
        public var id: String
        public var category: String
        public var faithfulness: Double
        public var relevancy: Double
        public var latencyMilliseconds: Double
        public var costUSD: Double
        /// No answer (nothing retrieved, a failed call).
        public var error: Bool
        /// The answer had a policy violation (leaked secret, PII); absent when not measured.
        public var violation: Bool?

        public init(id: String, category: String, faithfulness: Double, relevancy: Double, latencyMilliseconds: Double,
                    costUSD: Double, error: Bool, violation: Bool? = nil) {
            self.id = id
            self.category = category
            self.faithfulness = faithfulness
            self.relevancy = relevancy
            self.latencyMilliseconds = latencyMilliseconds
            self.costUSD = costUSD
            self.error = error
            self.violation = violation
        }

        enum CodingKeys: String, CodingKey {
            case id, category, faithfulness, relevancy, error, violation
            case latencyMilliseconds = "latency_ms"
            case costUSD = "cost_usd"
        }

        public func validationFailure(in place: String) -> String? {
            for (field, value, upper) in [
                ("faithfulness", faithfulness, 1.0), ("relevancy", relevancy, 1), ("latency_ms", latencyMilliseconds, .greatestFiniteMagnitude),
                ("cost_usd", costUSD, .greatestFiniteMagnitude),
            ] where !(value.isFinite && (0...upper).contains(value)) {
                return "\(place).\(field) is \(value), expected a finite number in \(upper == .greatestFiniteMagnitude ? "[0, ∞)" : "[0, 1]")"
            }
            return nil
        }
    }

    /// `GET /tuner/evaluator`: which questions there are and how they are judged.
    public struct Description: Sendable, Equatable, Codable {
        /// Names what is evaluated; with `version`, the key under which the tuner keeps results.
        public var dataset: String
        /// Changes whenever the same question and configuration could be answered differently
        /// (new data, judge or model): results kept under another version are not reused.
        public var version: String
        /// Split → category → question ids.
        public var splits: [String: [String: [String]]]
        public var gates: PolicyConfiguration.GateThresholds
        /// Thresholds that replace `gates` for a category's questions.
        public var categoryGates: [String: PolicyConfiguration.GateThresholds]
        public var maxBatchSize: Int
        /// The knobs a configuration may set, with their kinds, ranges and defaults; absent from
        /// an evaluator of the built-in pipeline's knobs that does not declare them.
        public var knobs: KnobDeclaration?

        public init(dataset: String, version: String, splits: [String: [String: [String]]], gates: PolicyConfiguration.GateThresholds,
                    categoryGates: [String: PolicyConfiguration.GateThresholds] = [:], maxBatchSize: Int = EvaluatorProtocol.maxBatchSize,
                    knobs: KnobDeclaration? = nil) {
            self.dataset = dataset
            self.version = version
            self.splits = splits
            self.gates = gates
            self.categoryGates = categoryGates
            self.maxBatchSize = maxBatchSize
            self.knobs = knobs
        }

        enum CodingKeys: String, CodingKey {
            case dataset, version, splits, gates, knobs
            case categoryGates = "category_gates"
            case maxBatchSize = "max_batch_size"
        }

        /// The reward the evaluator's gates give, with `policy`'s weights and penalties.
        public func reward(_ policy: PolicyConfiguration) -> RewardFunction {
            RewardFunction(policy, gates: gates, categoryGates: categoryGates)
        }

        /// The category → ids of `split`, or a reason naming what is missing.
        public func categories(of split: String) throws -> [String: [String]] {
            guard let categories = splits[split], !categories.isEmpty, categories.values.allSatisfy({ !$0.isEmpty }) else {
                throw RemoteEvaluator.Failure.malformed("the description has no questions in split '\(split)' (splits: \(splits.keys.sorted().joined(separator: ", ")))")
            }
            return categories
        }
    }

    public struct Metrics: Sendable, Equatable, Codable {
        public var n: Int
        public var faithfulness: Double
        public var relevancy: Double
        public var latencyP50Milliseconds: Double
        public var latencyP95Milliseconds: Double
        /// Mean per query, US dollars.
        public var costUSD: Double
        public var errorRate: Double
        /// Share of answers with a policy violation (leaked secret, PII); 0 when not measured.
        public var violationRate: Double?
        /// Standard deviation of per-query quality; absent when not measured.
        public var qualitySpread: Double?

        public init(n: Int, faithfulness: Double, relevancy: Double, latencyP50Milliseconds: Double, latencyP95Milliseconds: Double,
                    costUSD: Double, errorRate: Double, violationRate: Double? = nil, qualitySpread: Double? = nil) {
            self.n = n
            self.faithfulness = faithfulness
            self.relevancy = relevancy
            self.latencyP50Milliseconds = latencyP50Milliseconds
            self.latencyP95Milliseconds = latencyP95Milliseconds
            self.costUSD = costUSD
            self.errorRate = errorRate
            self.violationRate = violationRate
            self.qualitySpread = qualitySpread
        }

        enum CodingKeys: String, CodingKey {
            case n, faithfulness, relevancy
            case latencyP50Milliseconds = "latency_p50_ms"
            case latencyP95Milliseconds = "latency_p95_ms"
            case costUSD = "cost_usd"
            case errorRate = "error_rate"
            case violationRate = "violation_rate"
            case qualitySpread = "quality_spread"
        }

        /// Every number finite and in its range, or a reason naming the field.
        public func validationFailure(in place: String) -> String? {
            guard n >= 1 else { return "\(place).n is \(n), expected ≥ 1" }
            for (field, value, range) in [
                ("faithfulness", faithfulness, 0.0...1.0), ("relevancy", relevancy, 0...1), ("error_rate", errorRate, 0...1),
                ("latency_p50_ms", latencyP50Milliseconds, 0...Double.greatestFiniteMagnitude),
                ("latency_p95_ms", latencyP95Milliseconds, 0...Double.greatestFiniteMagnitude),
                ("cost_usd", costUSD, 0...Double.greatestFiniteMagnitude),
                ("violation_rate", violationRate ?? 0, 0...1), ("quality_spread", qualitySpread ?? 0, 0...1),
            ] where !(value.isFinite && range.contains(value)) {
                return "\(place).\(field) is \(value), expected a finite number in \(range.upperBound == .greatestFiniteMagnitude ? "[0, ∞)" : "[\(range.lowerBound), \(range.upperBound)]")"
            }
            return nil
        }
    }

    public struct Response: Sendable, Equatable, Codable {
        /// The configuration as the evaluator applied it (every knob, those that do not apply at
        /// their defaults).
        public var configuration: Configuration
        public var overall: Metrics
        public var perCategory: [String: Metrics]
        /// One per question, in the request's order; absent from an evaluator that answers
        /// aggregates only.
        public var queries: [QueryResult]?

        public init(configuration: Configuration, overall: Metrics, perCategory: [String: Metrics], queries: [QueryResult]? = nil) {
            self.configuration = configuration
            self.overall = overall
            self.perCategory = perCategory
            self.queries = queries
        }

        enum CodingKeys: String, CodingKey {
            case configuration, overall, queries
            case perCategory = "per_category"
        }
    }
}
