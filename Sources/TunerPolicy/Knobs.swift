import Foundation

/// One knob's value in a ``Configuration``: a choice's name, an integer, on/off, or a real.
public enum KnobValue: Sendable, Hashable, Codable, CustomStringConvertible {
    case text(String)
    case integer(Int)
    case flag(Bool)
    case number(Double)

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        // JSON has one number type: a whole number reads as an integer, which a continuous knob
        // also accepts (``KnobDeclaration/canonical(_:)``).
        if let flag = try? c.decode(Bool.self) {
            self = .flag(flag)
        } else if let number = try? c.decode(Double.self) {
            self = number == number.rounded() && abs(number) < 9e15 ? .integer(Int(number)) : .number(number)
        } else if let text = try? c.decode(String.self) {
            self = .text(text)
        } else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "a knob's value is a string, a number or true/false")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case let .text(s): try c.encode(s)
        case let .integer(i): try c.encode(i)
        case let .flag(b): try c.encode(b)
        case let .number(x): try c.encode(x)
        }
    }

    public var description: String {
        switch self {
        case let .text(s): s
        case let .integer(i): String(i)
        case let .flag(b): String(b)
        case let .number(x): String(x)
        }
    }

    /// An integer and a real of the same value are equal: JSON cannot tell 1 from 1.0.
    public static func == (a: KnobValue, b: KnobValue) -> Bool {
        switch (a, b) {
        case let (.text(x), .text(y)): x == y
        case let (.flag(x), .flag(y)): x == y
        default: a.real != nil && a.real == b.real
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case let .text(s): hasher.combine(s)
        case let .flag(b): hasher.combine(b)
        case .integer, .number: hasher.combine(real!)
        }
    }

    /// The value as a real, for integers and reals.
    public var real: Double? {
        switch self {
        case let .integer(i): Double(i)
        case let .number(x): x
        case .text, .flag: nil
        }
    }
}

/// A service's settings for one request: a value for each declared knob, as the evaluator
/// protocol and `POST /decide` carry it (a JSON object, knob name → value).
public struct Configuration: Sendable, Hashable, Codable, CustomStringConvertible {
    public var values: [String: KnobValue]

    public init(_ values: [String: KnobValue]) { self.values = values }

    public subscript(name: String) -> KnobValue? {
        get { values[name] }
        set { values[name] = newValue }
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        var values: [String: KnobValue] = [:]
        for key in c.allKeys { values[key.stringValue] = try c.decode(KnobValue.self, forKey: key) }
        self.values = values
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        for (name, value) in values.sorted(by: { $0.key < $1.key }) { try c.encode(value, forKey: Key(stringValue: name)) }
    }

    /// `name=value` pairs, sorted by name.
    public var description: String {
        values.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }
}

/// One setting a service lets the tuner choose: its name, what values it takes, its default (what
/// the service runs without the tuner), and optionally the values of another knob it applies under
/// (as a fusion weight only under fused retrieval).
public struct Knob: Sendable, Hashable, Codable {
    public enum Kind: Sendable, Hashable, CustomStringConvertible {
        /// One of `choices`.
        case categorical(choices: [String])
        /// An integer in `range`; the grid search tries `grid`; `logNormal`: the policy's head
        /// is a log-normal over the range rather than one logit per value.
        case integer(range: ClosedRange<Int>, grid: [Int], logNormal: Bool)
        /// On or off.
        case bernoulli
        /// A real in `range`; the grid search tries `grid`.
        case continuous(range: ClosedRange<Double>, grid: [Double])

        public var description: String {
            switch self {
            case let .categorical(choices): "categorical of [\(choices.joined(separator: ", "))]"
            case let .integer(range, _, _): "an integer in \(range.lowerBound)...\(range.upperBound)"
            case .bernoulli: "bernoulli"
            case let .continuous(range, _): "continuous in \(range.lowerBound)...\(range.upperBound)"
            }
        }
    }

    /// The knob applies only while knob `knob` has one of `values`.
    public struct Condition: Sendable, Hashable, Codable {
        public var knob: String
        public var values: [KnobValue]
        public init(knob: String, values: [KnobValue]) {
            self.knob = knob
            self.values = values
        }
    }

    public var name: String
    public var kind: Kind
    public var defaultValue: KnobValue
    public var condition: Condition?

    public init(name: String, kind: Kind, defaultValue: KnobValue, condition: Condition? = nil) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.condition = condition
    }

    /// The kinds as declarations name them.
    public static let kindNames = ["categorical", "integer", "bernoulli", "continuous"]

    /// The values the grid search tries, in order.
    public var gridValues: [KnobValue] {
        switch kind {
        case let .categorical(choices): choices.map(KnobValue.text)
        case let .integer(_, grid, _): grid.map(KnobValue.integer)
        case .bernoulli: [.flag(false), .flag(true)]
        case let .continuous(_, grid): grid.map(KnobValue.number)
        }
    }

    /// `value` as this knob holds it (a whole number as a real for a continuous knob), or why it
    /// cannot be this knob's.
    public func accept(_ value: KnobValue) -> Result<KnobValue, KnobProblem> {
        func refuse(_ expected: String) -> Result<KnobValue, KnobProblem> { .failure(KnobProblem(knob: name, reason: "is \(value), expected \(expected)")) }
        switch (kind, value) {
        case let (.categorical(choices), .text(s)):
            return choices.contains(s) ? .success(value) : refuse("one of \(choices.joined(separator: ", "))")
        case let (.categorical(choices), _): return refuse("one of \(choices.joined(separator: ", "))")
        case let (.integer(range, _, _), .integer(i)):
            return range.contains(i) ? .success(value) : refuse("an integer in \(range.lowerBound)...\(range.upperBound)")
        case let (.integer(range, _, _), _): return refuse("an integer in \(range.lowerBound)...\(range.upperBound)")
        case (.bernoulli, .flag): return .success(value)
        case (.bernoulli, _): return refuse("true or false")
        case let (.continuous(range, _), _):
            guard let x = value.real, x.isFinite, range.contains(x) else { return refuse("a number in \(range.lowerBound)...\(range.upperBound)") }
            return .success(.number(x))
        }
    }

    enum CodingKeys: String, CodingKey { case name, kind, choices, min, max, grid, distribution, `default`, when }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        switch try c.decode(String.self, forKey: .kind) {
        case "categorical": kind = .categorical(choices: try c.decode([String].self, forKey: .choices))
        case "integer":
            let low = try c.decode(Int.self, forKey: .min), high = try c.decode(Int.self, forKey: .max)
            guard low <= high else { throw DecodingError.dataCorruptedError(forKey: .max, in: c, debugDescription: "knob \(name): min \(low) > max \(high)") }
            kind = .integer(range: low...high, grid: try c.decodeIfPresent([Int].self, forKey: .grid) ?? [low, high],
                            logNormal: try c.decodeIfPresent(String.self, forKey: .distribution) == "lognormal")
        case "bernoulli": kind = .bernoulli
        case "continuous":
            let low = try c.decode(Double.self, forKey: .min), high = try c.decode(Double.self, forKey: .max)
            guard low <= high else { throw DecodingError.dataCorruptedError(forKey: .max, in: c, debugDescription: "knob \(name): min \(low) > max \(high)") }
            kind = .continuous(range: low...high, grid: try c.decodeIfPresent([Double].self, forKey: .grid) ?? [low, high])
        case let other:
            throw DecodingError.dataCorruptedError(forKey: .kind, in: c, debugDescription: "knob \(name): kind '\(other)' is not one of \(Self.kindNames.joined(separator: ", "))")
        }
        defaultValue = try c.decode(KnobValue.self, forKey: .default)
        condition = try c.decodeIfPresent(Condition.self, forKey: .when)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        switch kind {
        case let .categorical(choices):
            try c.encode("categorical", forKey: .kind)
            try c.encode(choices, forKey: .choices)
        case let .integer(range, grid, logNormal):
            try c.encode("integer", forKey: .kind)
            try c.encode(range.lowerBound, forKey: .min)
            try c.encode(range.upperBound, forKey: .max)
            try c.encode(grid, forKey: .grid)
            if logNormal { try c.encode("lognormal", forKey: .distribution) }
        case .bernoulli: try c.encode("bernoulli", forKey: .kind)
        case let .continuous(range, grid):
            try c.encode("continuous", forKey: .kind)
            try c.encode(range.lowerBound, forKey: .min)
            try c.encode(range.upperBound, forKey: .max)
            try c.encode(grid, forKey: .grid)
        }
        try c.encode(defaultValue, forKey: .default)
        try c.encodeIfPresent(condition, forKey: .when)
    }
}

/// What is wrong with a knob's value or declaration, naming the knob.
public struct KnobProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var knob: String
    /// The field of the knob's declaration at fault (`choices`, `grid`, `default`, `when`), for a
    /// declaration's problem.
    public var field: String?
    public var reason: String
    public init(knob: String, field: String? = nil, reason: String) {
        self.knob = knob
        self.field = field
        self.reason = reason
    }
    public var description: String { knob.isEmpty ? "knobs: \(reason)" : "knob '\(knob)' \(reason)" }
}

/// The knobs a service lets the tuner choose, in order: the action space as data. The grid the
/// search tries, the configurations the protocol carries and the checkpoint's fixed settings all
/// follow from it.
public struct KnobDeclaration: Sendable, Hashable, Codable {
    public let knobs: [Knob]

    /// Checks the knobs (``problem``) and holds each value as its knob does: JSON's whole
    /// numbers of a continuous knob as reals, so a declaration read from either side compares equal.
    public init(_ knobs: [Knob]) throws(KnobProblem) {
        if let problem = Self.problem(knobs) { throw problem }
        self.knobs = knobs.map { knob in
            var knob = knob
            if case let .success(v) = knob.accept(knob.defaultValue) { knob.defaultValue = v }
            if var condition = knob.condition, let other = knobs.first(where: { $0.name == condition.knob }) {
                condition.values = condition.values.map { if case let .success(v) = other.accept($0) { v } else { $0 } }
                knob.condition = condition
            }
            return knob
        }
    }

    public init(from decoder: any Decoder) throws {
        try self.init(try [Knob](from: decoder))
    }

    public func encode(to encoder: any Encoder) throws { try knobs.encode(to: encoder) }

    public var names: [String] { knobs.map(\.name) }

    public func knob(_ name: String) -> Knob? { knobs.first { $0.name == name } }

    /// Why these knobs cannot be searched or served, naming the knob, or nil.
    public static func problem(_ knobs: [Knob]) -> KnobProblem? {
        guard !knobs.isEmpty else { return KnobProblem(knob: "", reason: "none declared: declare at least one knob") }
        var seen: Set<String> = []
        for (i, knob) in knobs.enumerated() {
            func problem(_ field: String, _ reason: String) -> KnobProblem { KnobProblem(knob: knob.name, field: field, reason: reason) }
            guard !knob.name.isEmpty, knob.name.utf8.count <= 100 else { return problem("name", "needs a name of 1 to 100 bytes") }
            guard seen.insert(knob.name).inserted else { return problem("name", "is declared twice") }
            switch knob.kind {
            case let .categorical(choices):
                guard Set(choices).count == choices.count, choices.count >= 2, choices.count <= ActionHead.maximumValues else {
                    return problem("choices", "has choices [\(choices.joined(separator: ", "))]: a categorical needs 2 to \(ActionHead.maximumValues) distinct choices")
                }
            case let .integer(range, grid, logNormal):
                // The span by subtraction that reports overflow: `range.count` traps on Int.min...Int.max.
                let (span, overflow) = range.upperBound.subtractingReportingOverflow(range.lowerBound)
                guard !overflow, span >= 1, span < ActionHead.maximumValues else {
                    return problem("max", "has range \(range.lowerBound)...\(range.upperBound): an integer needs 2 to \(ActionHead.maximumValues) values")
                }
                if logNormal, range.lowerBound < 1 { return problem("min", "is log-normal over \(range.lowerBound)...\(range.upperBound): its minimum must be ≥ 1") }
                if let outside = grid.first(where: { !range.contains($0) }) { return problem("grid", "has grid value \(outside) outside \(range.lowerBound)...\(range.upperBound)") }
                if grid.isEmpty || Set(grid).count != grid.count { return problem("grid", "needs a grid of distinct values") }
            case .bernoulli: break
            case let .continuous(range, grid):
                guard range.lowerBound.isFinite, range.upperBound.isFinite, range.lowerBound < range.upperBound else {
                    return problem("max", "has range \(range.lowerBound)...\(range.upperBound): it must be finite with min < max")
                }
                if let outside = grid.first(where: { !range.contains($0) }) { return problem("grid", "has grid value \(outside) outside \(range.lowerBound)...\(range.upperBound)") }
                if grid.isEmpty || Set(grid).count != grid.count { return problem("grid", "needs a grid of distinct values") }
            }
            if case let .failure(p) = knob.accept(knob.defaultValue) { return problem("default", "has default \(p.reason.dropFirst(3))") }
            if let condition = knob.condition {
                guard let other = knobs[..<i].first(where: { $0.name == condition.knob }) else {
                    return problem("when", "applies when '\(condition.knob)' has some value, but no knob declared before it is named '\(condition.knob)'")
                }
                for value in condition.values {
                    if case .failure = other.accept(value) { return problem("when", "applies when '\(condition.knob)' is \(value), which it cannot be") }
                }
            }
        }
        return nil
    }

    /// Whether `knob` applies in `c`: it has no condition, or the knob it names has one of its values.
    public func applies(_ knob: Knob, in c: Configuration) -> Bool {
        guard let condition = knob.condition else { return true }
        return c[condition.knob].map(condition.values.contains) ?? false
    }

    /// The service's own configuration: every knob's default.
    public var defaults: Configuration { Configuration(Dictionary(uniqueKeysWithValues: knobs.map { ($0.name, $0.defaultValue) })) }

    /// `c` as a service applies it and results are kept under it: every value checked, a knob
    /// that does not apply at its default, a missing one at its default, a whole number of a
    /// continuous knob as a real, and each continuous value rounded to `step` of its range (so
    /// nearby proposals share results). Throws for an unknown knob or a value out of its range.
    public func canonical(_ c: Configuration, step: Double? = nil) throws(KnobProblem) -> Configuration {
        if let unknown = c.values.keys.sorted().first(where: { knob($0) == nil }) {
            throw KnobProblem(knob: unknown, reason: "is not declared (declared: \(names.joined(separator: ", ")))")
        }
        var result = Configuration([:])
        for knob in knobs {
            guard let given = c[knob.name] else {
                result[knob.name] = knob.defaultValue
                continue
            }
            var value: KnobValue
            switch knob.accept(given) {
            case let .success(v): value = v
            case let .failure(p): throw p
            }
            if let step, case let .continuous(range, _) = knob.kind, case let .number(x) = value {
                let width = step * (range.upperBound - range.lowerBound)
                value = .number(min(max(range.lowerBound + ((x - range.lowerBound) / width).rounded() * width, range.lowerBound), range.upperBound))
            }
            result[knob.name] = value
        }
        for knob in knobs where !applies(knob, in: result) { result[knob.name] = knob.defaultValue }
        return result
    }

    /// Why `c` is not a configuration of these knobs (an unknown knob, a wrong type, a value out
    /// of range), naming the knob, or nil. A knob left out takes its default.
    public func problem(in c: Configuration) -> KnobProblem? {
        do { _ = try canonical(c) } catch { return error }
        return nil
    }

    /// Every combination of the knobs' grid values, in declaration order (the last knob varying
    /// fastest); a knob that does not apply is held at its default, so each configuration appears once.
    public var grid: [Configuration] {
        var result = [Configuration([:])]
        for knob in knobs {
            result = result.flatMap { partial -> [Configuration] in
                let values = applies(knob, in: partial) ? knob.gridValues : [knob.defaultValue]
                return values.map { value in
                    var c = partial
                    c[knob.name] = value
                    return c
                }
            }
        }
        return result
    }

    /// Why configurations of these knobs cannot all be answered by a service declaring `other`
    /// (a knob missing or of another kind, a choice or range it lacks), or nil.
    public func problem(within other: KnobDeclaration) -> KnobProblem? {
        for knob in knobs {
            guard let theirs = other.knob(knob.name) else {
                return KnobProblem(knob: knob.name, reason: "is not among the evaluator's knobs (\(other.names.joined(separator: ", ")))")
            }
            let fits = switch (knob.kind, theirs.kind) {
            case let (.categorical(mine), .categorical(their)): Set(mine).isSubset(of: their)
            case let (.integer(mine, _, _), .integer(their, _, _)): their.contains(mine.lowerBound) && their.contains(mine.upperBound)
            case (.bernoulli, .bernoulli): true
            case let (.continuous(mine, _), .continuous(their, _)): their.contains(mine.lowerBound) && their.contains(mine.upperBound)
            default: false
            }
            guard fits else { return KnobProblem(knob: knob.name, reason: "is declared as \(knob.kind) here but as \(theirs.kind) by the evaluator") }
            guard knob.defaultValue == theirs.defaultValue else {
                return KnobProblem(knob: knob.name, reason: "has default \(knob.defaultValue) here but \(theirs.defaultValue) at the evaluator: the verdict compares with the service's default")
            }
            // The same condition over the values both sides may set.
            let sameCondition = switch (knob.condition, theirs.condition) {
            case (nil, nil): true
            case let (mine?, their?):
                mine.knob == their.knob && Set(mine.values).isSubset(of: their.values)
                    && their.values.allSatisfy { v in
                        guard let owner = self.knob(mine.knob), case .success = owner.accept(v) else { return true }
                        return mine.values.contains(v)
                    }
            default: false
            }
            guard sameCondition else {
                return KnobProblem(knob: knob.name, reason: "applies under \(knob.condition.map { "\($0.knob) ∈ \($0.values)" } ?? "every configuration") here but under \(theirs.condition.map { "\($0.knob) ∈ \($0.values)" } ?? "every configuration") at the evaluator")
            }
        }
        if let missing = other.names.first(where: { knob($0) == nil }) {
            return KnobProblem(knob: missing, reason: "is one of the evaluator's knobs but is not declared here")
        }
        return nil
    }
}
