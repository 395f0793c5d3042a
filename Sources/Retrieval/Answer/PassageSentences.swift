/// Every passage split into sentences once, with each sentence's generator-token count and its
/// distinct index terms (ids in a BM25 index's vocabulary, sorted), so the answer step and the
/// prompt templates work on integers.
public struct PassageSentences: Sendable {
    public struct Sentence: Sendable {
        public var text: String
        public var tokens: Int
        public var terms: [Int32]
    }

    public let passages: [[Sentence]]
    /// Generator tokens of each passage's full text.
    public let passageTokens: [Int]

    public init(documents: [Document], index: BM25Index) {
        var passages: [[Sentence]] = []
        var tokens: [Int] = []
        passages.reserveCapacity(documents.count)
        for document in documents {
            let sentences = SentenceSplitter.split(document.text).map { piece -> Sentence in
                let text = String(piece)
                let terms = Set(index.analyzer.terms(text).compactMap { index.termID($0) }).sorted()
                return Sentence(text: text, tokens: TokenCount.of(text), terms: terms)
            }
            passages.append(sentences)
            tokens.append(sentences.reduce(0) { $0 + $1.tokens })
        }
        self.passages = passages
        self.passageTokens = tokens
    }

    /// How many leading sentences of `document` fit in `budget` tokens (at least one, which is
    /// then cut to the budget), and the tokens they take.
    public func leadingSentences(_ document: Int, budget: Int) -> (count: Int, tokens: Int) {
        let sentences = passages[document]
        guard let first = sentences.first else { return (0, 0) }
        var used = 0
        var count = 0
        for s in sentences {
            guard used + s.tokens <= budget else { break }
            used += s.tokens
            count += 1
        }
        return count == 0 ? (0, min(first.tokens, budget)) : (count, used)
    }
}
