import Foundation
import Yams

/// Reads a YAML mapping field by field with validation: every value is checked against its
/// allowed range or set, unknown fields are refused (a typo must not silently fall back to a
/// default), and each error names the file, line and dotted field path.
public struct YAMLFields {
    public let file: String
    private let node: Node
    private let path: String
    private var mapping: [String: Node] = [:]

    /// Parses `text` (named `file` in errors); the document must be a mapping.
    public init(text: String, file: String) throws {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch {
            throw ConfigurationError(file: file, field: "", reason: "is not valid YAML: \(error)")
        }
        try self.init(node: root ?? Node([(Node, Node)]()), file: file, path: "")
    }

    public static func load(_ url: URL) throws -> YAMLFields {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw ConfigurationError(file: url.path, field: "", reason: "cannot be read")
        }
        return try YAMLFields(text: text, file: url.path)
    }

    init(node: Node, file: String, path: String) throws {
        self.file = file
        self.node = node
        self.path = path
        guard let pairs = node.mapping else {
            throw ConfigurationError(file: file, line: Self.line(node), field: path, reason: "must be a mapping")
        }
        for (key, value) in pairs {
            guard let name = key.string else {
                throw ConfigurationError(file: file, line: Self.line(key), field: path, reason: "has a non-string key")
            }
            mapping[name] = value
        }
    }

    private static func line(_ node: Node) -> Int? { node.mark.map { $0.line } }

    private func qualified(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    private func error(_ key: String, _ reason: String) -> ConfigurationError {
        ConfigurationError(file: file, line: mapping[key].flatMap(Self.line) ?? Self.line(node), field: qualified(key), reason: reason)
    }

    public var keys: Set<String> { Set(mapping.keys) }

    /// An error about field `key` of this mapping, at its line: for checks across fields.
    public func refusal(_ key: String, _ reason: String) -> ConfigurationError { error(key, reason) }

    /// Refuses any field not in `allowed`.
    public func onlyAllow(_ allowed: Set<String>) throws {
        if let unknown = mapping.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw error(unknown, "is not a known field (known: \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    public func section(_ key: String) throws -> YAMLFields? {
        guard let value = mapping[key] else { return nil }
        return try YAMLFields(node: value, file: file, path: qualified(key))
    }

    /// The mappings of a list field, each read as its own fields (`key[i]` in errors); nil when
    /// the field is absent.
    public func mappings(_ key: String) throws -> [YAMLFields]? {
        guard let value = mapping[key] else { return nil }
        guard let sequence = value.sequence else { throw error(key, "must be a list") }
        return try sequence.enumerated().map { i, item in try YAMLFields(node: item, file: file, path: "\(qualified(key))[\(i)]") }
    }

    /// The scalar of a field, or nil when it is absent; a list or mapping there is refused.
    public func scalar(_ key: String) throws -> YAMLScalar? {
        guard let value = mapping[key] else { return nil }
        guard value.scalar != nil else { throw error(key, "must be a single value") }
        return YAMLScalar(node: value)
    }

    /// The items of a list field, or nil when it is absent.
    public func scalars(_ key: String) throws -> [YAMLScalar]? {
        guard let value = mapping[key] else { return nil }
        guard let sequence = value.sequence, sequence.allSatisfy({ $0.scalar != nil }) else { throw error(key, "must be a list of values") }
        return sequence.map(YAMLScalar.init(node:))
    }

    /// A number in `range`, or `fallback` when the field is absent.
    public func double(_ key: String, in range: ClosedRange<Double>, default fallback: Double) throws -> Double {
        guard let value = mapping[key] else { return fallback }
        guard let number = value.float ?? value.int.map(Double.init), number.isFinite else {
            throw error(key, "is '\(value.string ?? "?")', expected a finite number in \(Self.describe(range))")
        }
        guard range.contains(number) else { throw error(key, "is \(number), allowed range \(Self.describe(range))") }
        return number
    }

    public func int(_ key: String, in range: ClosedRange<Int>, default fallback: Int) throws -> Int {
        guard let value = mapping[key] else { return fallback }
        guard let number = value.int else { throw error(key, "is '\(value.string ?? "?")', expected an integer in [\(range.lowerBound), \(range.upperBound)]") }
        guard range.contains(number) else { throw error(key, "is \(number), allowed range [\(range.lowerBound), \(range.upperBound)]") }
        return number
    }

    public func bool(_ key: String, default fallback: Bool) throws -> Bool {
        guard let value = mapping[key] else { return fallback }
        guard let flag = value.bool else { throw error(key, "is '\(value.string ?? "?")', expected true or false") }
        return flag
    }

    /// A list whose items each satisfy `item` (which returns nil for an invalid one), not empty
    /// unless `allowsEmpty`.
    public func list<T>(_ key: String, default fallback: [T], allowed: String, allowsEmpty: Bool = false, item: (YAMLScalar) -> T?) throws -> [T] {
        guard let value = mapping[key] else { return fallback }
        guard let sequence = value.sequence, allowsEmpty || !sequence.isEmpty else { throw error(key, "must be a non-empty list of \(allowed)") }
        return try sequence.map { element in
            guard let parsed = item(YAMLScalar(node: element)) else {
                throw ConfigurationError(
                    file: file, line: Self.line(element) ?? Self.line(value), field: qualified(key),
                    reason: "has '\(element.string ?? "?")', allowed: \(allowed)")
            }
            return parsed
        }
    }

    /// One of `allowed`, or nil when the field is absent.
    public func string(_ key: String, allowed: [String]) throws -> String? {
        guard let value = mapping[key] else { return nil }
        guard let text = value.string, allowed.contains(text) else {
            throw error(key, "is '\(value.string ?? "?")', allowed: \(allowed.joined(separator: ", "))")
        }
        return text
    }

    /// Free text (a name, a path, a URL), not empty; nil when the field is absent.
    public func text(_ key: String) throws -> String? {
        guard let value = mapping[key] else { return nil }
        guard let text = value.string, !text.trimmingCharacters(in: .whitespaces).isEmpty, value.scalar != nil else {
            throw error(key, "must be a non-empty string")
        }
        return text
    }

    public func strings(_ key: String, default fallback: [String], allowed: [String]) throws -> [String] {
        try list(key, default: fallback, allowed: allowed.joined(separator: ", ")) { node in
            node.string.flatMap { allowed.contains($0) ? $0 : nil }
        }
    }

    /// "[0, 1]", "[0.5, 2.5]": a range as an error message writes it.
    public static func describe(_ range: ClosedRange<Double>) -> String {
        "[\(format(range.lowerBound)), \(format(range.upperBound))]"
    }

    static func format(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x)
    }
}

/// One item of a YAML list, read as the type a field expects (nil when it is not one).
public struct YAMLScalar {
    let node: Node
    public var string: String? { node.string }
    public var int: Int? { node.int }
    public var double: Double? { node.float ?? node.int.map(Double.init) }
    public var bool: Bool? { node.bool }
}

/// A whole YAML document decoded into a `Decodable` value (a dataset manifest).
public enum YAMLDocument {
    public static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        try YAMLDecoder().decode(type, from: text)
    }
}
