import TunerPolicy

/// The evaluator protocol (`POST /tuner/evaluate`, docs/openapi.yaml): a configuration and a
/// batch description in; faithfulness, relevancy, latency p50/p95, cost, error rate and the number
/// of queries out, overall and per category. The tuner's own server implements it for the
/// built-in pipeline; a team implements it on its staging service and points the trainer at it.
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
    }

    public static let maxBatchSize = 5000

    public struct Request: Sendable, Hashable, Codable {
        public var configuration: RAGSettings
        public var batch: Batch
        public init(configuration: RAGSettings, batch: Batch) {
            self.configuration = configuration
            self.batch = batch
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
        public var configuration: RAGSettings
        public var overall: Metrics
        public var perCategory: [String: Metrics]

        public init(configuration: RAGSettings, overall: Metrics, perCategory: [String: Metrics]) {
            self.configuration = configuration
            self.overall = overall
            self.perCategory = perCategory
        }

        enum CodingKeys: String, CodingKey {
            case configuration, overall
            case perCategory = "per_category"
        }
    }
}
