import Foundation

/// Reads a JSON-lines file (a dataset file, a decision log) into `T`s; a line that does not
/// decode is an error naming the file and the line number. Blank lines are skipped.
public enum JSONLines {
    public static func read<T: Decodable>(_ type: T.Type, from url: URL) throws -> [T] {
        let (rows, bad) = try readTolerating(type, from: url, stopAtFirstBadLine: true)
        if let first = bad.first { throw first }
        return rows.map(\.value)
    }

    /// Every line that decodes, with its line number, and a `malformedLine` error for each that
    /// does not — for logs, where a few bad lines should be counted, not fatal. From `offset`
    /// (a line boundary, such as an append-only log's size at some earlier moment) only the
    /// rest is read, and line numbers count from there.
    public static func readTolerating<T: Decodable>(
        _ type: T.Type, from url: URL, offset: UInt64 = 0, stopAtFirstBadLine: Bool = false
    ) throws -> (rows: [(line: Int, value: T)], bad: [DatasetError]) {
        let contents: Data?
        if offset == 0 {
            contents = FileManager.default.contents(atPath: url.path)
        } else if let handle = FileHandle(forReadingAtPath: url.path) {
            defer { try? handle.close() }
            try handle.seek(toOffset: offset)
            contents = try handle.readToEnd() ?? Data()
        } else {
            contents = nil
        }
        guard let data = contents else {
            throw DatasetError.missingFile(url.path)
        }
        let decoder = JSONDecoder()
        var rows: [(line: Int, value: T)] = []
        var bad: [DatasetError] = []
        var lineNumber = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { continue }
            do {
                rows.append((lineNumber, try decoder.decode(T.self, from: Data(line))))
            } catch {
                bad.append(DatasetError.malformedLine(file: url.path, line: lineNumber, reason: Self.reason(error)))
                if stopAtFirstBadLine { break }
            }
        }
        return (rows, bad)
    }

    private static func reason(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "missing field '\(key.stringValue)'"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "field '\(context.codingPath.map(\.stringValue).joined(separator: "."))': \(context.debugDescription)"
        case DecodingError.dataCorrupted(let context): "not valid JSON (\(context.underlyingError.map { "\($0)" } ?? context.debugDescription))"
        default: "\(error)"
        }
    }
}

/// An id that BEIR files write as a string but some exports write as a number.
struct FlexibleID: Decodable {
    var value: String
    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let string = try? container.decode(String.self) { value = string; return }
        value = String(try container.decode(Int.self))
    }
}

struct CorpusLine: Decodable {
    var id: FlexibleID
    var title: String?
    var text: String
    enum CodingKeys: String, CodingKey {
        case id = "_id"
        case title, text
    }
}

struct QueryLine: Decodable {
    var id: FlexibleID
    var text: String
    var category: String?
    var answers: [String]?
    enum CodingKeys: String, CodingKey {
        case id = "_id"
        case text, category, answers
    }
}
