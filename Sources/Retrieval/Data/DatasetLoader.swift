import Foundation

/// Loads a dataset folder in the BEIR layout:
/// `corpus.jsonl`, `queries.jsonl`, `qrels/<split>.tsv`, optional `embeddings/<model>/`, and an
/// optional `manifest.yaml` (inferred from the contents when absent).
public struct DatasetLoader {
    public var folder: URL
    /// A manifest kept outside the folder (the project's `datasets/manifests/`); when nil,
    /// `manifest.yaml` in the folder is used if present.
    public var manifestURL: URL?
    /// Load embeddings when the folder has them (the LSA fallback is used when not).
    public var loadsEmbeddings: Bool

    public init(folder: URL, manifestURL: URL? = nil, loadsEmbeddings: Bool = true) {
        self.folder = folder
        self.manifestURL = manifestURL
        self.loadsEmbeddings = loadsEmbeddings
    }

    public func load() throws -> Dataset {
        var hygiene = HygieneReport()
        let documents = try loadDocuments()
        let queries = try loadQueries()
        let documentIndex = try index(documents.map(\.id), file: "corpus.jsonl")
        let queryIndex = try index(queries.map(\.id), file: "queries.jsonl")

        var splits = try loadQrels(documentIndex: documentIndex, queryIndex: queryIndex, unresolved: &hygiene.unresolvedIDs)
        var manifest = try loadManifest(documents: documents, queries: queries, splits: splits)

        var embeddings: Embeddings?
        if loadsEmbeddings, let model = manifest.embeddings ?? availableEmbeddingModels().first {
            embeddings = try Embeddings.load(
                folder: folder.appendingPathComponent("embeddings").appendingPathComponent(model),
                model: model, documentIDs: documentIndex, queryIDs: queryIndex,
                unresolved: &hygiene.unresolvedIDs)
            manifest.embeddings = model
        }

        if splits.count == 1, let (name, only) = splits.first {
            let recipe = manifest.derivedSplit ?? DatasetManifest.SplitRecipe()
            let (train, test) = StratifiedSplit.split(
                only.queries, categories: only.queries.map { queries[$0].category },
                trainFraction: recipe.trainFraction, seed: recipe.seed)
            splits = ["train": only.restricted(to: train), "test": only.restricted(to: test)]
            hygiene.derivedSplits = "only '\(name)' was judged: \(train.count) train / \(test.count) test queries, "
                + "stratified by category, train fraction \(recipe.trainFraction), seed \(recipe.seed)"
            manifest.derivedSplit = recipe
            manifest.splits = splits.mapValues { $0.queries.count }
        }

        let judged = Set(splits.values.flatMap(\.queries))
        hygiene.queriesWithoutQrels = queries.count - judged.count
        hygiene.duplicateDocuments = Self.duplicateGroups(documents)
        hygiene.leakedQueries = LeakageDetector(documents: documents).leakedQueries(queries)
        return Dataset(
            manifest: manifest, documents: documents, queries: queries, splits: splits,
            embeddings: embeddings, hygiene: hygiene)
    }

    public func availableEmbeddingModels() -> [String] {
        let url = folder.appendingPathComponent("embeddings")
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        return entries.filter {
            FileManager.default.fileExists(atPath: url.appendingPathComponent($0).appendingPathComponent("meta.json").path)
        }.sorted()
    }

    private func loadDocuments() throws -> [Document] {
        try JSONLines.read(CorpusLine.self, from: folder.appendingPathComponent("corpus.jsonl")).map {
            Document(id: $0.id.value, title: $0.title ?? "", text: $0.text)
        }
    }

    private func loadQueries() throws -> [Query] {
        try JSONLines.read(QueryLine.self, from: folder.appendingPathComponent("queries.jsonl")).map {
            Query(id: $0.id.value, text: $0.text, category: $0.category ?? Query.uncategorised, answers: $0.answers ?? [])
        }
    }

    private func index(_ ids: [String], file: String) throws -> [String: Int] {
        var result: [String: Int] = [:]
        result.reserveCapacity(ids.count)
        for (i, id) in ids.enumerated() {
            if result[id] != nil {
                throw DatasetError.malformedLine(
                    file: folder.appendingPathComponent(file).path, line: i + 1, reason: "duplicate _id '\(id)'")
            }
            result[id] = i
        }
        return result
    }

    private func loadQrels(
        documentIndex: [String: Int], queryIndex: [String: Int], unresolved: inout [String]
    ) throws -> [String: Qrels] {
        let qrelsFolder = folder.appendingPathComponent("qrels")
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: qrelsFolder.path)) ?? [])
            .filter { $0.hasSuffix(".tsv") }.sorted()
        guard !files.isEmpty else { throw DatasetError.missingFile(qrelsFolder.appendingPathComponent("<split>.tsv").path) }
        var splits: [String: Qrels] = [:]
        for file in files {
            let url = qrelsFolder.appendingPathComponent(file)
            guard let text = try? String(contentsOf: url, encoding: .utf8) else { throw DatasetError.missingFile(url.path) }
            var qrels = Qrels()
            for (offset, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
                if line.isEmpty || (offset == 0 && line.hasPrefix("query-id")) { continue }
                let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
                guard fields.count == 3 else {
                    throw DatasetError.malformedLine(
                        file: url.path, line: offset + 1,
                        reason: "expected 3 tab-separated fields (query-id, corpus-id, score), found \(fields.count)")
                }
                guard let grade = Float(fields[2].trimmingCharacters(in: .whitespaces)), grade.isFinite else {
                    throw DatasetError.malformedLine(file: url.path, line: offset + 1, reason: "score '\(fields[2])' is not a number")
                }
                guard grade > 0 else { continue }
                guard let q = queryIndex[String(fields[0])] else { unresolved.append("\(file): query \(fields[0])"); continue }
                guard let d = documentIndex[String(fields[1])] else { unresolved.append("\(file): document \(fields[1])"); continue }
                qrels.add(query: q, document: d, grade: grade)
            }
            splits[String(file.dropLast(4))] = qrels
        }
        return splits
    }

    private func loadManifest(documents: [Document], queries: [Query], splits: [String: Qrels]) throws -> DatasetManifest {
        let candidate = manifestURL ?? folder.appendingPathComponent("manifest.yaml")
        if FileManager.default.fileExists(atPath: candidate.path) {
            return try DatasetManifest.load(from: candidate)
        } else if let manifestURL {
            throw DatasetError.missingFile(manifestURL.path)
        }
        var manifest = DatasetManifest(id: folder.lastPathComponent)
        manifest.source = folder.path
        manifest.size = .init(documents: documents.count, queries: queries.count)
        manifest.splits = splits.mapValues { $0.queries.count }
        manifest.categories = Array(Set(queries.map(\.category))).sorted()
        manifest.inferred = true
        return manifest
    }

    static func duplicateGroups(_ documents: [Document]) -> [[String]] {
        var groups: [String: [String]] = [:]
        var order: [String] = []
        for d in documents {
            let key = d.indexedText
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(d.id)
        }
        return order.compactMap { groups[$0]!.count > 1 ? groups[$0] : nil }
    }
}
