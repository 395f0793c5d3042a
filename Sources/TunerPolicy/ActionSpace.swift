/// One named part of an action, with the distribution its policy head uses.
public struct ActionHead: Sendable, Hashable, Codable {
    public enum Kind: Sendable, Hashable, Codable {
        /// One of `choices`, from a softmax over one logit per choice.
        case categorical(choices: [String])
        /// An integer in `lower...upper`, from a softmax over one logit per value: any shape,
        /// and maskable value by value; but what is learnt about one value says nothing of its
        /// neighbours.
        case discrete(lower: Int, upper: Int)
        /// An integer in `lower...upper` (lower ≥ 1), from a log-normal density evaluated at the
        /// integers and normalised over the allowed ones: one output for the mean of log k and a
        /// state-independent learned log-std. Unimodal, and what is learnt about one value moves
        /// its neighbours; on the log scale, so small values — where a setting such as top-k
        /// matters most — get as much room as large ones (3, 4, 5 are as far apart as 18, 24, 30).
        case discretisedLogNormal(lower: Int, upper: Int)
        /// On or off, from one sigmoid logit.
        case bernoulli
        /// A real in `lower...upper`, from a Gaussian with a learned mean and a state-independent
        /// learned log-std. The sample is kept unbounded for the log-probability and clipped only
        /// where the environment sees it (CleanRL's choice for bounded continuous actions).
        case continuous(lower: Double, upper: Double)
    }

    public let name: String
    public let kind: Kind

    public init(name: String, kind: Kind) {
        if let problem = Self.problem(name: name, kind: kind) { preconditionFailure(problem) }
        self.name = name
        self.kind = kind
    }

    /// Most values one head may have: its outputs and mask are allocated per value.
    static let maximumValues = 10_000

    /// Why a head of this kind cannot be learnt or decided with, or nil.
    static func problem(name: String, kind: Kind) -> String? {
        switch kind {
        case let .categorical(choices):
            choices.count >= 2 && choices.count <= maximumValues ? nil : "head \(name): a categorical needs 2...\(maximumValues) choices, has \(choices.count)"
        case let .discrete(lower, upper):
            upper > lower && upper - lower < maximumValues ? nil : "head \(name): integer range \(lower)...\(upper) must hold 2...\(maximumValues) values"
        case let .discretisedLogNormal(lower, upper):
            upper > lower && lower >= 1 && upper - lower < maximumValues
                ? nil : "head \(name): a log-normal needs 1 ≤ lower < upper with at most \(maximumValues) values, got \(lower)...\(upper)"
        case let .continuous(lower, upper):
            lower.isFinite && upper.isFinite && upper > lower ? nil : "head \(name): range \(lower)...\(upper) must be finite and not empty"
        case .bernoulli: nil
        }
    }

    /// Why this head cannot be learnt or decided with (a decoded one skips the initialiser's check), or nil.
    public var problem: String? { Self.problem(name: name, kind: kind) }

    public static func categorical(_ name: String, choices: [String]) -> ActionHead { .init(name: name, kind: .categorical(choices: choices)) }
    public static func discrete(_ name: String, _ range: ClosedRange<Int>) -> ActionHead { .init(name: name, kind: .discrete(lower: range.lowerBound, upper: range.upperBound)) }
    public static func discretisedLogNormal(_ name: String, _ range: ClosedRange<Int>) -> ActionHead { .init(name: name, kind: .discretisedLogNormal(lower: range.lowerBound, upper: range.upperBound)) }
    public static func bernoulli(_ name: String) -> ActionHead { .init(name: name, kind: .bernoulli) }
    public static func continuous(_ name: String, _ range: ClosedRange<Double>) -> ActionHead { .init(name: name, kind: .continuous(lower: range.lowerBound, upper: range.upperBound)) }

    /// Network outputs this head reads: a logit per choice, one logit, or one mean.
    public var outputWidth: Int {
        switch kind {
        case let .categorical(choices): choices.count
        case let .discrete(lower, upper): upper - lower + 1
        case .discretisedLogNormal, .bernoulli, .continuous: 1
        }
    }

    /// Values this head chooses among, each with its own probability and mask entry
    /// (categorical and integer heads); 0 for Bernoulli and continuous heads.
    public var maskWidth: Int {
        switch kind {
        case let .categorical(choices): choices.count
        case let .discrete(lower, upper), let .discretisedLogNormal(lower, upper): upper - lower + 1
        case .bernoulli, .continuous: 0
        }
    }

    /// Entries one value of this head takes as features or probabilities: one per choice, or one.
    public var valueWidth: Int { max(maskWidth, 1) }

    /// Whether the head has a learned log-std parameter (continuous and log-normal).
    public var hasLogStd: Bool {
        switch kind {
        case .continuous, .discretisedLogNormal: true
        case .categorical, .discrete, .bernoulli: false
        }
    }

    /// The value an environment sees for a stored action component: the choice index, the
    /// integer, 0/1, or the sample clipped into bounds.
    public func environmentValue(_ stored: Float) -> Double {
        switch kind {
        case .categorical, .bernoulli: Double(stored)
        case let .discrete(lower, _), let .discretisedLogNormal(lower, _): Double(lower) + Double(stored)
        case let .continuous(lower, upper): min(max(Double(stored), lower), upper)
        }
    }
}

/// An ordered list of heads: the whole action an agent takes each step.
public struct ActionSpace: Sendable, Hashable, Codable {
    public let heads: [ActionHead]

    public init(_ heads: [ActionHead]) {
        precondition(!heads.isEmpty, "An action space needs at least one head")
        precondition(Set(heads.map(\.name)).count == heads.count, "Action head names must be unique")
        self.heads = heads
    }

    public var count: Int { heads.count }

    /// Why this space cannot be learnt or decided with (a decoded one skips the initialiser's checks), or nil.
    public var problem: String? {
        if heads.isEmpty { return "an action space needs at least one head" }
        if Set(heads.map(\.name)).count != heads.count { return "action head names must be unique" }
        return heads.lazy.compactMap(\.problem).first
    }

    /// An action (stored form) as features, `valueWidth` wide: one-hot for categorical and
    /// integer heads, 0/1 for Bernoulli, the value for continuous heads.
    public func encoded(_ stored: [Float]) -> [Float] {
        precondition(stored.count == count, "action has \(stored.count) heads, the space \(count)")
        var features = [Float](repeating: 0, count: valueWidth)
        var offset = 0
        for (head, value) in zip(heads, stored) {
            if head.maskWidth > 0 {
                let index = Int(value)
                precondition((0..<head.maskWidth).contains(index), "head \(head.name): index \(index) out of range")
                features[offset + index] = 1
            } else {
                features[offset] = value
            }
            offset += head.valueWidth
        }
        return features
    }
    public var outputWidth: Int { heads.reduce(0) { $0 + $1.outputWidth } }
    public var maskWidth: Int { heads.reduce(0) { $0 + $1.maskWidth } }
    public var valueWidth: Int { heads.reduce(0) { $0 + $1.valueWidth } }
    /// Learned log-std parameters: one per continuous or log-normal head, in head order.
    public var logStdCount: Int { heads.filter(\.hasLogStd).count }
    /// Floats `MixedDistribution.sample` and `mode` need as scratch: two per value of the widest head.
    public var scratchCount: Int { 2 * heads.map(\.valueWidth).max()! }

    /// Where each head's outputs start in the network's output row.
    public var outputOffsets: [Int] { offsets(\.outputWidth) }
    /// Where each head's mask entries start in a mask row.
    public var maskOffsets: [Int] { offsets(\.maskWidth) }
    /// Where each head's entries start in a row of `valueWidth` (features, probabilities).
    public var valueOffsets: [Int] { offsets(\.valueWidth) }

    /// Environment values of a stored action (one component per head).
    public func environmentValues(_ stored: [Float]) -> [Double] {
        precondition(stored.count == count, "Action has \(stored.count) components, space has \(count) heads")
        return zip(heads, stored).map { $0.environmentValue($1) }
    }

    private func offsets(_ width: (ActionHead) -> Int) -> [Int] {
        var result: [Int] = []
        var offset = 0
        for head in heads {
            result.append(offset)
            offset += width(head)
        }
        return result
    }
}
