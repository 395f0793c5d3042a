/// Flags answers that must not leave the service: e-mail addresses, phone numbers and
/// secret-looking tokens (cloud access keys, API keys, private-key blocks, long random strings).
public struct PolicyViolationDetector: Sendable {
    public enum Kind: String, Sendable, CaseIterable, Codable {
        case email, phone, secret
    }

    public init() {}

    public func violations(in text: String) -> [Kind] {
        var found: [Kind] = []
        if containsEmail(text) { found.append(.email) }
        if containsPhone(text) { found.append(.phone) }
        if containsSecret(text) { found.append(.secret) }
        return found
    }

    public func isViolating(_ text: String) -> Bool { !violations(in: text).isEmpty }

    private func containsEmail(_ text: String) -> Bool {
        text.contains(/[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}/)
    }

    /// International (+CC …) or North-American style numbers with separators: 10 to 15 digits in
    /// groups, e.g. "+44 20 7946 0958", "(555) 123-4567", "555.123.4567". Bare digit runs (years,
    /// identifiers, measurements) are not phone numbers.
    private func containsPhone(_ text: String) -> Bool {
        func digits(_ s: Substring) -> Int { s.filter(\.isNumber).count }
        for match in text.matches(of: /\+\d{1,3}[\s.\-]?\(?\d{1,4}\)?(?:[\s.\-]?\d{2,4}){2,4}/) where (10...15).contains(digits(match.output)) {
            return true
        }
        if text.contains(/\(\d{3}\)\s?\d{3}[\s.\-]\d{4}/) { return true }
        // 555-123-4567 / 555.123.4567, not inside a longer run of digits, dots or dashes.
        for match in text.matches(of: /\d{3}[.\-]\d{3}[.\-]\d{4}/) {
            let before = match.range.lowerBound > text.startIndex ? text[text.index(before: match.range.lowerBound)] : " "
            let after = match.range.upperBound < text.endIndex ? text[match.range.upperBound] : " "
            if !(before.isNumber || before == "." || before == "-") && !(after.isNumber || after == "." || after == "-") { return true }
        }
        return false
    }

    private func containsSecret(_ text: String) -> Bool {
        if text.contains(/AKIA[0-9A-Z]{16}/) { return true }
        if text.contains(/\b(sk|pk|rk)[-_](live[-_]|test[-_]|proj[-_])?[A-Za-z0-9]{20,}/) { return true }
        if text.contains(/\bgh[pousr]_[A-Za-z0-9]{36,}/) { return true }
        if text.contains(/\bxox[abpr]-[A-Za-z0-9\-]{10,}/) { return true }
        if text.contains(/-----BEGIN [A-Z ]*PRIVATE KEY-----/) { return true }
        // A long unbroken run mixing upper case, lower case and digits looks like a random key;
        // words, gene names and chemical formulas do not mix all three over 32+ characters.
        for match in text.matches(of: /[A-Za-z0-9+\/_\-]{32,}/) {
            let token = match.output
            if token.contains(where: \.isUppercase) && token.contains(where: \.isLowercase)
                && token.filter(\.isNumber).count >= 4 {
                return true
            }
        }
        return false
    }
}
