import Foundation
import Scoring
import TunerPolicy

/// The JSON form of reports: snake_case metric names, overall and per category.
public enum ReportJSON {
    /// A ``RAGSettings`` as JSON.
    public static func metrics(_ m: MetricsSummary) -> [String: Any] { object(m) }

    public static func configuration(_ c: RAGSettings) -> [String: Any] { object(c.configuration) }

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
