import Foundation
import Retrieval
import TunerPolicy

/// A request log replayed through the pipeline: production's questions, in time order, as the
/// training and validation slices of offline tuning.
///
/// Each line is a JSON object: `timestamp` (ISO 8601), `question` (or `text`), and where the
/// service knows them `category`, `configuration` (the settings served), `propensity`,
/// `latency_ms`, `cost_usd`, `feedback`. Questions are matched to the dataset's judged questions
/// by their text (case and spacing ignored): the built-in judge can only score what has gold
/// passages; the rest are counted and reported. The first `trainFraction` of the matched
/// requests by time train, the rest are the frozen validation slice. Malformed lines are counted
/// and reported, and fatal only beyond `maxBadLineFraction`.
public struct RequestLog: Sendable {
    public struct Entry: Sendable, Codable {
        public var timestamp: String
        public var question: String?
        public var text: String?
        public var category: String?
        public var configuration: RAGSettings?
        public var propensity: Double?
        public var latencyMilliseconds: Double?
        public var costUSD: Double?
        public var feedback: Double?

        enum CodingKeys: String, CodingKey {
            case timestamp, question, text, category, configuration, propensity, feedback
            case latencyMilliseconds = "latency_ms"
            case costUSD = "cost_usd"
        }
    }

    /// Dataset query indices of the matched requests, oldest first, one per request.
    public var train: [Int]
    public var test: [Int]
    public var lines: Int
    public var badLines: [DatasetError]
    /// Requests whose question has no judged counterpart in the dataset.
    public var unmatched: Int
    /// Matched requests whose logged category differs from the dataset's.
    public var categoryMismatches: Int

    public enum Failure: Error, CustomStringConvertible {
        case tooManyBadLines(file: String, bad: Int, lines: Int, allowed: Double, first: DatasetError)
        case nothingToReplay(file: String, reason: String)

        public var description: String {
            switch self {
            case let .tooManyBadLines(file, bad, lines, allowed, first):
                "\(file): \(bad) of \(lines) lines are malformed, more than the \(allowed * 100)% allowed; the first: \(first)"
            case let .nothingToReplay(file, reason): "\(file): nothing to replay: \(reason)"
            }
        }
    }

    public static func read(_ url: URL, dataset: Dataset, judged: Set<Int>, trainFraction: Double = 0.8,
                            maxBadLineFraction: Double = 0.01) throws -> RequestLog {
        var (rows, bad) = try JSONLines.readTolerating(Entry.self, from: url)
        var times: [Int: Date] = [:]
        rows.removeAll { row in
            guard row.value.question ?? row.value.text != nil else {
                bad.append(.malformedLine(file: url.path, line: row.line, reason: "missing field 'question'"))
                return true
            }
            guard let time = Self.time(row.value.timestamp) else {
                bad.append(.malformedLine(file: url.path, line: row.line, reason: "field 'timestamp' is '\(row.value.timestamp)', expected ISO 8601 such as 2026-11-23T14:05:00Z or 2026-11-23T15:05:00.250+01:00"))
                return true
            }
            times[row.line] = time
            return false
        }
        let total = rows.count + bad.count
        bad.sort { Self.line($0) < Self.line($1) }
        if let first = bad.first, Double(bad.count) > maxBadLineFraction * Double(total) {
            throw Failure.tooManyBadLines(file: url.path, bad: bad.count, lines: total, allowed: maxBadLineFraction, first: first)
        }
        var byText: [String: Int] = [:]
        for q in judged.sorted() { byText[normalized(dataset.queries[q].text)] = byText[normalized(dataset.queries[q].text)] ?? q }
        var matched: [(time: Date, line: Int, query: Int)] = []
        var unmatched = 0
        var mismatches = 0
        for (line, entry) in rows {
            guard let q = byText[normalized(entry.question ?? entry.text!)] else {
                unmatched += 1
                continue
            }
            if let category = entry.category, category != dataset.queries[q].category { mismatches += 1 }
            matched.append((times[line]!, line, q))
        }
        guard matched.count >= 2 else {
            throw Failure.nothingToReplay(file: url.path, reason: "\(matched.count) of \(rows.count) questions match a judged question of dataset '\(dataset.manifest.id)'")
        }
        // By instant (offsets differ from line to line); ties keep log order.
        matched.sort { ($0.time, $0.line) < ($1.time, $1.line) }
        let cut = min(max(Int((Double(matched.count) * trainFraction).rounded()), 1), matched.count - 1)
        return RequestLog(
            train: matched.prefix(cut).map(\.query), test: matched.dropFirst(cut).map(\.query), lines: total, badLines: bad,
            unmatched: unmatched, categoryMismatches: mismatches)
    }

    /// An ISO 8601 date and time with its offset (or Z), with or without fractional seconds.
    /// Parsed by swift-foundation's own `ISO8601FormatStyle`, not ICU's: `ISO8601DateFormatter`
    /// died of a floating-point exception on a fraction of 80 digits (found by the fuzzer).
    public static func time(_ text: String) -> Date? {
        (try? fractional.parse(text)) ?? (try? whole.parse(text))
    }

    private static let fractional = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    private static let whole = Date.ISO8601FormatStyle()

    private static func line(_ error: DatasetError) -> Int {
        if case let .malformedLine(_, line, _) = error { return line }
        return 0
    }

    /// Text as questions are matched: lower case, whitespace runs as one space.
    public static func normalized(_ text: String) -> String {
        text.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    public var summary: String {
        var parts = ["\(lines) lines", "\(train.count + test.count) requests replayed (\(train.count) train, \(test.count) validation, by time)"]
        if unmatched > 0 { parts.append("\(unmatched) without a judged counterpart in the dataset left out") }
        if categoryMismatches > 0 { parts.append("\(categoryMismatches) logged with another category than the dataset's (the dataset's used)") }
        if !badLines.isEmpty { parts.append("\(badLines.count) malformed line\(badLines.count == 1 ? "" : "s") skipped (first: \(badLines[0]))") }
        return parts.joined(separator: "; ")
    }
}
