/// How the retrieved passages become the generator's context. The template decides the context
/// size (so the generator's cost and latency) and which sentences, in which positions, the answer
/// step reads (so quality).
public enum PromptTemplate: String, Sendable, CaseIterable, Codable {
    /// Every retrieved passage, full text, in rank order.
    case ranked
    /// Every retrieved passage cut to its leading sentences within the per-passage budget.
    case truncated
    /// Passages in rank order, full text, until the context budget is spent; the rest dropped.
    case budgeted
    /// Every passage, full text, the best at both ends: ranks 1, 3, 5, … from the start and
    /// 2, 4, 6, … from the end, against the generator's weak attention to the middle.
    case sandwich

    public struct Budgets: Sendable, Equatable, Codable {
        /// Tokens kept of each passage by `truncated`.
        public var passageTokens: Int
        /// Tokens of passages kept in all by `budgeted`.
        public var contextTokens: Int
        public init(passageTokens: Int = 96, contextTokens: Int = 1024) {
            self.passageTokens = passageTokens
            self.contextTokens = contextTokens
        }
        enum CodingKeys: String, CodingKey {
            case passageTokens = "passage_tokens"
            case contextTokens = "context_tokens"
        }
    }

    /// A passage as placed in the context: which document, how many of its leading sentences the
    /// answer step can read (nil = all), and the tokens it adds.
    public struct Slot: Sendable, Equatable {
        public var document: Int32
        public var visibleSentences: Int?
        public var tokens: Int
    }

    /// The context slots for `ranking` (best first), in context order.
    public func arrange(_ ranking: [Int32], sentences: PassageSentences, budgets: Budgets) -> [Slot] {
        switch self {
        case .ranked:
            return ranking.map { Slot(document: $0, visibleSentences: nil, tokens: sentences.passageTokens[Int($0)]) }
        case .truncated:
            return ranking.map { d in
                let lead = sentences.leadingSentences(Int(d), budget: budgets.passageTokens)
                return Slot(document: d, visibleSentences: lead.count, tokens: lead.tokens)
            }
        case .budgeted:
            var slots: [Slot] = []
            var used = 0
            for d in ranking {
                let tokens = sentences.passageTokens[Int(d)]
                if used + tokens > budgets.contextTokens && !slots.isEmpty { break }
                slots.append(Slot(document: d, visibleSentences: nil, tokens: tokens))
                used += tokens
            }
            return slots
        case .sandwich:
            return (0..<ranking.count).map { position in
                let d = ranking[Self.sandwichRank(position: position, count: ranking.count)]
                return Slot(document: d, visibleSentences: nil, tokens: sentences.passageTokens[Int(d)])
            }
        }
    }

    /// The rank placed at context `position` in sandwich order 0, 2, 4, …, 5, 3, 1.
    @inlinable
    public static func sandwichRank(position: Int, count: Int) -> Int {
        position < (count + 1) / 2 ? 2 * position : 2 * (count - 1 - position) + 1
    }
}
