extension Dataset {
    /// Several datasets as one (the mixed-domain case): corpora and queries concatenated with
    /// ids prefixed by the dataset id ("scifact/4983"), each query's category replaced by its
    /// dataset's id, splits merged by name, embeddings kept only when every part has them with
    /// the same model and dimension.
    public static func union(_ parts: [Dataset]) -> Dataset {
        precondition(!parts.isEmpty, "a union needs at least one dataset")
        var documents: [Document] = []
        var queries: [Query] = []
        var splits: [String: Qrels] = [:]
        var hygiene = HygieneReport()
        for part in parts {
            let name = part.manifest.id
            let documentOffset = documents.count
            let queryOffset = queries.count
            documents += part.documents.map { Document(id: "\(name)/\($0.id)", title: $0.title, text: $0.text) }
            queries += part.queries.map { Query(id: "\(name)/\($0.id)", text: $0.text, category: name, answers: $0.answers) }
            for (split, qrels) in part.splits {
                for q in qrels.queries {
                    for j in qrels.relevant(to: q) {
                        splits[split, default: Qrels()].add(query: queryOffset + q, document: documentOffset + j.document, grade: j.grade)
                    }
                }
            }
            hygiene.duplicateDocuments += part.hygiene.duplicateDocuments.map { $0.map { "\(name)/\($0)" } }
            hygiene.queriesWithoutQrels += part.hygiene.queriesWithoutQrels
            hygiene.leakedQueries += part.hygiene.leakedQueries.map { "\(name)/\($0)" }
            hygiene.unresolvedIDs += part.hygiene.unresolvedIDs.map { "\(name): \($0)" }
            if let derived = part.hygiene.derivedSplits { hygiene.derivedSplits = (hygiene.derivedSplits.map { $0 + "; " } ?? "") + "\(name): \(derived)" }
        }
        var embeddings: Embeddings?
        let partEmbeddings = parts.compactMap(\.embeddings)
        if partEmbeddings.count == parts.count, let first = partEmbeddings.first,
           partEmbeddings.allSatisfy({ $0.model == first.model && $0.dimension == first.dimension }) {
            embeddings = Embeddings(
                model: first.model, dimension: first.dimension,
                documents: .stacking(partEmbeddings.map(\.documents)), queries: .stacking(partEmbeddings.map(\.queries)))
        }
        var manifest = DatasetManifest(id: parts.map(\.manifest.id).joined(separator: "+"))
        manifest.name = "union of " + parts.map(\.manifest.id).joined(separator: ", ")
        manifest.source = parts.compactMap(\.manifest.source).joined(separator: " | ")
        manifest.size = .init(documents: documents.count, queries: queries.count)
        manifest.splits = splits.mapValues { $0.queries.count }
        manifest.categories = parts.map(\.manifest.id)
        manifest.embeddings = embeddings?.model
        return Dataset(manifest: manifest, documents: documents, queries: queries, splits: splits, embeddings: embeddings, hygiene: hygiene)
    }
}
