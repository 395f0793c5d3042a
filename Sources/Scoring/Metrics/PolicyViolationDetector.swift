/// Flags answers that must not leave the service: e-mail addresses, phone numbers and
/// secret-looking tokens (cloud access keys, API keys, private-key blocks, long random strings).
///
/// Each detector first checks a cheap necessary condition ("@", ten digits, a long unbroken
/// run) so that ordinary text never reaches the regular expressions, which are compiled once.
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
        guard text.utf8.contains(UInt8(ascii: "@")) else { return false }
        return text.contains(Patterns.email)
    }

    /// International (+CC …) or North-American style numbers with separators, 10 to 15 digits
    /// in groups, e.g. "+44 20 7946 0958", "(555) 123-4567", "555.123.4567". Bare digit runs
    /// (years, identifiers, measurements) are not phone numbers.
    private func containsPhone(_ text: String) -> Bool {
        guard text.utf8.lazy.filter({ $0 >= 0x30 && $0 <= 0x39 }).count >= 10 else { return false }
        for match in text.matches(of: Patterns.internationalPhone) where (10...15).contains(match.output.filter(\.isNumber).count) {
            return true
        }
        if text.contains(Patterns.bracketedPhone) { return true }
        // 555-123-4567 / 555.123.4567, not inside a longer run of digits, dots or dashes.
        for match in text.matches(of: Patterns.groupedPhone) {
            let before = match.range.lowerBound > text.startIndex ? text[text.index(before: match.range.lowerBound)] : " "
            let after = match.range.upperBound < text.endIndex ? text[match.range.upperBound] : " "
            if !(before.isNumber || before == "." || before == "-") && !(after.isNumber || after == "." || after == "-") { return true }
        }
        return false
    }

    private func containsSecret(_ text: String) -> Bool {
        if text.contains("-----BEGIN ") && text.contains(Patterns.privateKey) { return true }
        let bytes = Array(text.utf8)
        var start = 0
        while start < bytes.count {
            guard Self.isKeyByte(bytes[start]) else { start += 1; continue }
            var end = start
            while end < bytes.count && Self.isKeyByte(bytes[end]) { end += 1 }
            if end - start >= 20 && Self.looksLikeSecret(bytes[start..<end]) { return true }
            start = end
        }
        return false
    }

    private static func isKeyByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
            || b == UInt8(ascii: "_") || b == UInt8(ascii: "-") || b == UInt8(ascii: "+") || b == UInt8(ascii: "/")
    }

    /// A run of key characters (20 or more) that is a known key format — AWS access key id
    /// (AKIA + 16), provider API keys (sk-/pk-/rk-…), GitHub (ghp_…) and Slack (xox?-…) tokens —
    /// or that is 32+ long and mixes upper case, lower case and at least four digits, as random
    /// keys do and words, gene names and chemical formulas do not.
    private static func looksLikeSecret(_ run: ArraySlice<UInt8>) -> Bool {
        let text = String(decoding: run, as: UTF8.self)
        let alphanumericTail = { (prefix: Int) -> Int in
            run.dropFirst(prefix).prefix { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) }.count
        }
        if text.hasPrefix("AKIA") && run.dropFirst(4).prefix(16).allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) }) && run.count >= 20 {
            return true
        }
        for prefix in ["sk-", "sk_", "pk-", "pk_", "rk-", "rk_"] where text.hasPrefix(prefix) {
            var rest = 3
            for mode in ["live-", "live_", "test-", "test_", "proj-", "proj_"] where text.dropFirst(3).hasPrefix(mode) { rest += 5 }
            if alphanumericTail(rest) >= 20 { return true }
        }
        for prefix in ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"] where text.hasPrefix(prefix) && alphanumericTail(4) >= 36 { return true }
        for prefix in ["xoxa-", "xoxb-", "xoxp-", "xoxr-"] where text.hasPrefix(prefix) && run.count >= 15 { return true }
        guard run.count >= 32 else { return false }
        let digits = run.filter { $0 >= 0x30 && $0 <= 0x39 }.count
        return digits >= 4 && run.contains { $0 >= 0x41 && $0 <= 0x5A } && run.contains { $0 >= 0x61 && $0 <= 0x7A }
    }
}

/// The detector's regular expressions, compiled once.
private enum Patterns {
    nonisolated(unsafe) static let email = /[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}/
    nonisolated(unsafe) static let internationalPhone = /\+\d{1,3}[\s.\-]?\(?\d{1,4}\)?(?:[\s.\-]?\d{2,4}){2,4}/
    nonisolated(unsafe) static let bracketedPhone = /\(\d{3}\)\s?\d{3}[\s.\-]\d{4}/
    nonisolated(unsafe) static let groupedPhone = /\d{3}[.\-]\d{3}[.\-]\d{4}/
    nonisolated(unsafe) static let privateKey = /-----BEGIN [A-Z ]*PRIVATE KEY-----/
}
