import Foundation
import Scoring
import TunerPolicy

/// The JSON form of reports: snake_case metric names, overall and per category.
public enum ReportJSON {
    /// One gate's value against its threshold.
    public struct Gate: Codable, Sendable, Equatable {
        public var name: String
        public var value: Double
        public var threshold: Double
        public var passed: Bool
    }

    /// A ``MetricsSummary`` as JSON.
    public struct Metrics: Codable, Sendable, Equatable {
        public var n: Int
        public var ndcgAt10: Double
        public var recallAt10: Double
        public var faithfulness: Double
        public var relevancy: Double
        public var answerF1: Double?
        public var latencyP50Milliseconds: Double
        public var latencyP95Milliseconds: Double
        public var costUSD: Double
        public var errorRate: Double
        public var violationRate: Double
        public var qualitySpread: Double
        public var reward: Double
        public var penalty: Double
        public var gatesPassed: Bool
        public var gates: [Gate]

        enum CodingKeys: String, CodingKey {
            case n, faithfulness, relevancy, reward, penalty, gates
            case ndcgAt10 = "ndcg_at_10", recallAt10 = "recall_at_10", answerF1 = "answer_f1"
            case latencyP50Milliseconds = "latency_p50_ms", latencyP95Milliseconds = "latency_p95_ms", costUSD = "cost_usd"
            case errorRate = "error_rate", violationRate = "violation_rate", qualitySpread = "quality_spread", gatesPassed = "gates_passed"
        }

        public init(_ m: MetricsSummary) {
            n = m.n
            ndcgAt10 = m.ndcgAt10
            recallAt10 = m.recallAt10
            faithfulness = m.faithfulness
            relevancy = m.relevancy
            answerF1 = m.answerF1
            latencyP50Milliseconds = m.latencyP50Milliseconds
            latencyP95Milliseconds = m.latencyP95Milliseconds
            costUSD = m.costUSD
            errorRate = m.errorRate
            violationRate = m.violationRate
            qualitySpread = m.qualitySpread
            reward = m.reward.reward
            penalty = m.reward.penalty
            gatesPassed = m.gatesPassed
            gates = m.reward.gates.map { Gate(name: $0.name, value: $0.value, threshold: $0.threshold, passed: $0.passed) }
        }
    }

    /// A ``RAGSettings`` as JSON.
    public struct Configuration: Codable, Sendable, Equatable {
        public var variant: String
        public var k: Int
        public var rerank: Bool
        public var fusionWeight: Double
        public var template: String

        enum CodingKeys: String, CodingKey {
            case variant, k, rerank, template
            case fusionWeight = "fusion_weight"
        }

        public init(_ c: RAGSettings) {
            variant = c.variant.rawValue
            k = c.k
            rerank = c.rerank
            fusionWeight = c.fusionWeight
            template = c.template.rawValue
        }
    }

    public static func metrics(_ m: MetricsSummary) -> [String: Any] { object(Metrics(m)) }

    public static func configuration(_ c: RAGSettings) -> [String: Any] { object(Configuration(c)) }

    /// `metrics(overall)` with `config` and `per_category` added.
    public static func configurationObject(_ report: BatchReport) -> [String: Any] {
        var object = metrics(report.overall)
        object["config"] = configuration(report.configuration)
        object["per_category"] = report.perCategory.mapValues(metrics)
        return object
    }

    /// The encoder of every report: sorted keys, and a non-finite number written as "nan",
    /// "inf" or "-inf" (a metric of nothing is NaN) rather than failing the whole report.
    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }

    /// A Codable value as a JSON object, for the commands that add keys of their own.
    static func object<T: Encodable>(_ value: T) -> [String: Any] {
        // A struct of numbers, strings and arrays always encodes to an object.
        guard let data = try? encoder.encode(value), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
        return object
    }
}
