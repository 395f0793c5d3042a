/// One named part of an action, with the distribution its policy head uses.
public struct ActionHead: Sendable, Hashable, Codable {
    public enum Kind: Sendable, Hashable, Codable {
        /// One of `choices`, from a softmax over one logit per choice.
        case categorical(choices: [String])
        /// An integer in `lower...upper`, from a softmax over one logit per value: exact for
        /// small ranges such as top-k 3...32, and maskable value by value.
        case discrete(lower: Int, upper: Int)
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
        switch kind {
        case let .categorical(choices): precondition(choices.count >= 2, "head \(name): a categorical needs ≥ 2 choices")
        case let .discrete(lower, upper): precondition(upper > lower, "head \(name): empty integer range \(lower)...\(upper)")
        case let .continuous(lower, upper): precondition(upper > lower, "head \(name): empty range \(lower)...\(upper)")
        case .bernoulli: break
        }
        self.name = name
        self.kind = kind
    }

    public static func categorical(_ name: String, choices: [String]) -> ActionHead { .init(name: name, kind: .categorical(choices: choices)) }
    public static func discrete(_ name: String, _ range: ClosedRange<Int>) -> ActionHead { .init(name: name, kind: .discrete(lower: range.lowerBound, upper: range.upperBound)) }
    public static func bernoulli(_ name: String) -> ActionHead { .init(name: name, kind: .bernoulli) }
    public static func continuous(_ name: String, _ range: ClosedRange<Double>) -> ActionHead { .init(name: name, kind: .continuous(lower: range.lowerBound, upper: range.upperBound)) }

    /// Network outputs this head reads: a logit per choice, one logit, or one mean.
    public var outputWidth: Int {
        switch kind {
        case let .categorical(choices): choices.count
        case let .discrete(lower, upper): upper - lower + 1
        case .bernoulli, .continuous: 1
        }
    }

    /// Entries this head contributes to an action mask (categorical and discrete heads only).
    public var maskWidth: Int {
        switch kind {
        case .categorical, .discrete: outputWidth
        case .bernoulli, .continuous: 0
        }
    }

    /// The value an environment sees for a stored action component: the choice index, the
    /// integer, 0/1, or the sample clipped into bounds.
    public func environmentValue(_ stored: Float) -> Double {
        switch kind {
        case .categorical, .bernoulli: Double(stored)
        case let .discrete(lower, _): Double(lower) + Double(stored)
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

    /// An action (stored form) as features, `outputWidth` wide: one-hot for categorical and
    /// integer heads, 0/1 for Bernoulli, the value for continuous heads.
    public func encoded(_ stored: [Float]) -> [Float] {
        precondition(stored.count == count, "action has \(stored.count) heads, the space \(count)")
        var features = [Float](repeating: 0, count: outputWidth)
        var offset = 0
        for (head, value) in zip(heads, stored) {
            switch head.kind {
            case .categorical, .discrete:
                let index = Int(value)
                precondition((0..<head.outputWidth).contains(index), "head \(head.name): index \(index) out of range")
                features[offset + index] = 1
            case .bernoulli, .continuous:
                features[offset] = value
            }
            offset += head.outputWidth
        }
        return features
    }
    public var outputWidth: Int { heads.reduce(0) { $0 + $1.outputWidth } }
    public var maskWidth: Int { heads.reduce(0) { $0 + $1.maskWidth } }
    public var continuousCount: Int { heads.filter { if case .continuous = $0.kind { true } else { false } }.count }

    /// Where each head's outputs start in the network's output row.
    public var outputOffsets: [Int] { offsets(\.outputWidth) }
    /// Where each head's mask entries start in a mask row.
    public var maskOffsets: [Int] { offsets(\.maskWidth) }

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
