/// What the loader found wrong or suspicious in a dataset, reported rather than hidden.
public struct HygieneReport: Sendable, Equatable, Codable {
    /// Groups of documents with identical title and text (ids), beyond the first of each group.
    public var duplicateDocuments: [[String]] = []
    /// Queries that no split judges.
    public var queriesWithoutQrels: Int = 0
    /// Queries whose whole text (three words or more) appears word for word in a document.
    public var leakedQueries: [String] = []
    /// Qrels or embedding rows whose ids are not in the corpus or the queries.
    public var unresolvedIDs: [String] = []
    /// Splits derived by the loader (category-stratified, seeded), with how.
    public var derivedSplits: String?

    public init() {}

    public var summary: String {
        var lines = [
            "duplicate documents: \(duplicateDocuments.reduce(0) { $0 + $1.count - 1 }) in \(duplicateDocuments.count) groups",
            "queries without qrels: \(queriesWithoutQrels)",
            "queries leaked verbatim into the corpus: \(leakedQueries.count)",
            "unresolved ids: \(unresolvedIDs.count)" + (unresolvedIDs.isEmpty ? "" : " (e.g. \(unresolvedIDs.prefix(3).joined(separator: ", ")))"),
        ]
        if let derivedSplits { lines.append("derived splits: \(derivedSplits)") }
        return lines.joined(separator: "\n")
    }

    enum CodingKeys: String, CodingKey {
        case duplicateDocuments = "duplicate_documents"
        case queriesWithoutQrels = "queries_without_qrels"
        case leakedQueries = "leaked_queries"
        case unresolvedIDs = "unresolved_ids"
        case derivedSplits = "derived_splits"
    }
}
