/// Finds queries whose whole text (three words or more) appears word for word, in order, in a
/// document — a sign that the answer key leaked into the corpus. Words are the analyser's
/// lowercased tokens; each query is anchored on its rarest adjacent word pair, so the search is
/// a few lookups per query rather than a scan of the corpus.
struct LeakageDetector {
    private var vocabulary: [String: Int32] = [:]
    private var documentTokens: [[Int32]] = []
    private var documentIDs: [String] = []
    /// (first word, second word) → positions (document, offset) where the pair starts.
    private var pairs: [UInt64: [(Int32, Int32)]] = [:]

    init(documents: [Document]) {
        for document in documents {
            let ids = Analyzer.tokens(document.indexedText).map { token -> Int32 in
                if let id = vocabulary[token] { return id }
                let id = Int32(vocabulary.count)
                vocabulary[token] = id
                return id
            }
            let d = Int32(documentTokens.count)
            for i in 0..<max(0, ids.count - 1) {
                pairs[Self.key(ids[i], ids[i + 1]), default: []].append((d, Int32(i)))
            }
            documentTokens.append(ids)
            documentIDs.append(document.id)
        }
    }

    private static func key(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(a)) << 32 | UInt64(UInt32(b)) }

    func leakedQueries(_ queries: [Query]) -> [String] {
        queries.compactMap { isLeaked($0.text) ? $0.id : nil }
    }

    func isLeaked(_ text: String) -> Bool {
        let tokens = Analyzer.tokens(text)
        guard tokens.count >= 3 else { return false }
        var ids: [Int32] = []
        for t in tokens {
            guard let id = vocabulary[t] else { return false }
            ids.append(id)
        }
        var anchor = 0
        var anchorCount = Int.max
        for i in 0..<(ids.count - 1) {
            let count = pairs[Self.key(ids[i], ids[i + 1])]?.count ?? 0
            if count == 0 { return false }
            if count < anchorCount { anchor = i; anchorCount = count }
        }
        for (d, offset) in pairs[Self.key(ids[anchor], ids[anchor + 1])]! {
            let start = Int(offset) - anchor
            let doc = documentTokens[Int(d)]
            guard start >= 0, start + ids.count <= doc.count else { continue }
            if (0..<ids.count).allSatisfy({ doc[start + $0] == ids[$0] }) { return true }
        }
        return false
    }
}
