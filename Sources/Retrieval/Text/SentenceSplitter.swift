/// Splits passage text into sentences: a sentence ends at ".", "!" or "?" (optionally followed by
/// closing quotes or brackets) when whitespace and then an uppercase letter, a digit or an
/// opening bracket follow — except after common abbreviations ("e.g.", "et al.", "Fig.") and
/// single initials.
public enum SentenceSplitter {
    static let abbreviations: Set<String> = [
        "e.g", "i.e", "al", "fig", "figs", "vs", "cf", "dr", "mr", "mrs", "ms", "prof", "no", "st",
        "approx", "ca", "resp", "eq", "ref", "vol", "jr", "sr", "inc", "ltd", "co", "u.s", "u.k",
    ]

    /// The sentences of `text` as ranges into it, trimmed of surrounding whitespace.
    public static func split(_ text: String) -> [Substring] {
        var sentences: [Substring] = []
        var start = text.startIndex
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            if c == "." || c == "!" || c == "?" {
                var end = text.index(after: i)
                while end < text.endIndex, "\"')]”’".contains(text[end]) { end = text.index(after: end) }
                if isBoundary(text, punctuation: i, after: end) {
                    append(text[start..<end], to: &sentences)
                    start = end
                    i = end
                    continue
                }
            }
            i = text.index(after: i)
        }
        append(text[start...], to: &sentences)
        return sentences
    }

    private static func append(_ piece: Substring, to sentences: inout [Substring]) {
        let trimmed = piece.drop { $0.isWhitespace }
        var end = trimmed.endIndex
        while end > trimmed.startIndex, trimmed[trimmed.index(before: end)].isWhitespace {
            end = trimmed.index(before: end)
        }
        if trimmed.startIndex < end { sentences.append(trimmed[trimmed.startIndex..<end]) }
    }

    private static func isBoundary(_ text: String, punctuation: String.Index, after: String.Index) -> Bool {
        guard after < text.endIndex, text[after].isWhitespace else { return after == text.endIndex }
        var next = after
        while next < text.endIndex, text[next].isWhitespace { next = text.index(after: next) }
        guard next < text.endIndex else { return true }
        let following = text[next]
        guard following.isUppercase || following.isNumber || "([\"'“".contains(following) else { return false }
        guard text[punctuation] == "." else { return true }
        // The word before the full stop: an abbreviation or a single initial does not end a sentence.
        var wordStart = punctuation
        while wordStart > text.startIndex {
            let previous = text.index(before: wordStart)
            if text[previous].isWhitespace || text[previous] == "(" { break }
            wordStart = previous
        }
        let word = text[wordStart..<punctuation].lowercased()
        if abbreviations.contains(word) { return false }
        if word.count == 1, word.first!.isLetter { return false }
        return true
    }
}
