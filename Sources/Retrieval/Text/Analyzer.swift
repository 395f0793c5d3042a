/// Turns text into index terms the way the standard BEIR BM25 baselines (Lucene's English
/// analyser) do: Unicode-aware word tokenisation, lowercasing, possessive "'s" removed, English
/// stop words dropped, Porter stemming.
///
/// Tokens are runs of letters and digits. A "." or "," between two digits stays inside the token
/// ("1.5", "10,000"), as does a "." between two letters ("u.s") and an apostrophe between two
/// letters ("don't"), following the word-break rules of Unicode UAX #29 that Lucene's standard
/// tokenizer implements.
public struct Analyzer: Sendable {
    public var removesStopWords: Bool
    public var stems: Bool

    public init(removesStopWords: Bool = true, stems: Bool = true) {
        self.removesStopWords = removesStopWords
        self.stems = stems
    }

    /// Lucene's English stop-word set (`EnglishAnalyzer.ENGLISH_STOP_WORDS_SET`).
    public static let englishStopWords: Set<String> = [
        "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it",
        "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these",
        "they", "this", "to", "was", "will", "with",
    ]

    public func terms(_ text: String) -> [String] {
        var result: [String] = []
        for token in Self.tokens(text) {
            var term = token
            if term.hasSuffix("'s") { term.removeLast(2) }
            if term.isEmpty || (removesStopWords && Self.englishStopWords.contains(term)) { continue }
            result.append(stems ? PorterStemmer.stem(term) : term)
        }
        return result
    }

    /// Lowercased word tokens, before stop words and stemming.
    public static func tokens(_ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        var tokens: [String] = []
        var current = String.UnicodeScalarView()
        func isWordScalar(_ s: Unicode.Scalar) -> Bool {
            if s.isASCII {
                let v = s.value
                return (v >= 0x61 && v <= 0x7A) || (v >= 0x41 && v <= 0x5A) || (v >= 0x30 && v <= 0x39)
            }
            return s.properties.isAlphabetic || s.properties.numericType != nil
        }
        func flush() {
            if !current.isEmpty { tokens.append(String(current).lowercased()) }
            current = String.UnicodeScalarView()
        }
        var i = 0
        while i < scalars.count {
            let s = scalars[i]
            if isWordScalar(s) {
                current.append(s)
            } else if !current.isEmpty, i + 1 < scalars.count, Self.joins(s, scalars[i - 1], scalars[i + 1]) {
                current.append(s == "\u{2019}" ? "'" : s)
            } else {
                flush()
            }
            i += 1
        }
        flush()
        return tokens
    }

    private static func joins(_ s: Unicode.Scalar, _ before: Unicode.Scalar, _ after: Unicode.Scalar) -> Bool {
        guard s == "." || s == "," || s == "'" || s == "\u{2019}" else { return false }
        let digits = before.properties.numericType != nil && after.properties.numericType != nil
        let letters = before.properties.isAlphabetic && after.properties.isAlphabetic
        switch s {
        case ".": return digits || letters
        case ",": return digits
        case "'", "\u{2019}": return letters
        default: return false
        }
    }
}
