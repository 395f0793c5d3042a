/// Token overlap between an answer and gold answers, with SQuAD's normalisation: lowercase,
/// punctuation removed, the articles "a", "an", "the" removed, whitespace collapsed. The score
/// is the best over the gold answers.
public enum AnswerOverlap {
    public static func normalizedTokens(_ text: String) -> [String] {
        var tokens: [String] = []
        var current = String.UnicodeScalarView()
        func flush() {
            if !current.isEmpty {
                let token = String(current)
                if token != "a" && token != "an" && token != "the" { tokens.append(token) }
                current = String.UnicodeScalarView()
            }
        }
        for scalar in text.lowercased().unicodeScalars {
            let separator = scalar.isASCII
                ? !((scalar.value >= 0x61 && scalar.value <= 0x7A) || (scalar.value >= 0x30 && scalar.value <= 0x39) || scalar.value >= 0x80)
                : scalar.properties.isWhitespace || scalar.properties.generalCategory.isPunctuation
            if separator { flush() } else { current.append(scalar) }
        }
        flush()
        return tokens
    }

    /// SQuAD token F1.
    public static func f1(answer: String, gold: [String]) -> Double {
        best(answer: answer, gold: gold) { common, answerCount, goldCount in
            guard common > 0 else { return 0 }
            let precision = Double(common) / Double(answerCount)
            let recall = Double(common) / Double(goldCount)
            return 2 * precision * recall / (precision + recall)
        }
    }

    /// Share of a gold answer's tokens present in the answer (the answer may be longer).
    public static func recall(answer: String, gold: [String]) -> Double {
        best(answer: answer, gold: gold) { common, _, goldCount in goldCount > 0 ? Double(common) / Double(goldCount) : 0 }
    }

    private static func best(answer: String, gold: [String], score: (Int, Int, Int) -> Double) -> Double {
        guard !gold.isEmpty else { return 0 }
        let answerTokens = normalizedTokens(answer)
        var answerCounts: [String: Int] = [:]
        for t in answerTokens { answerCounts[t, default: 0] += 1 }
        var bestScore = 0.0
        for g in gold {
            let goldTokens = normalizedTokens(g)
            var remaining = answerCounts
            var common = 0
            for t in goldTokens where (remaining[t] ?? 0) > 0 {
                remaining[t]! -= 1
                common += 1
            }
            bestScore = max(bestScore, score(common, answerTokens.count, goldTokens.count))
        }
        return bestScore
    }
}

extension Unicode.GeneralCategory {
    var isPunctuation: Bool {
        switch self {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation, .mathSymbol, .currencySymbol,
             .modifierSymbol, .otherSymbol:
            true
        default: false
        }
    }
}
