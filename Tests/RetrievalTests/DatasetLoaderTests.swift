import Foundation
import Retrieval
import Testing

/// A BEIR folder written to a temporary directory.
struct TemporaryDataset {
    let url: URL

    init(corpus: [String], queries: [String], qrels: [String: [String]], extra: [String: Data] = [:]) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("ragtuner-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url.appendingPathComponent("qrels"), withIntermediateDirectories: true)
        try (corpus.joined(separator: "\n") + "\n").write(to: url.appendingPathComponent("corpus.jsonl"), atomically: true, encoding: .utf8)
        try (queries.joined(separator: "\n") + "\n").write(to: url.appendingPathComponent("queries.jsonl"), atomically: true, encoding: .utf8)
        for (split, rows) in qrels {
            try (["query-id\tcorpus-id\tscore"] + rows).joined(separator: "\n")
                .write(to: url.appendingPathComponent("qrels/\(split).tsv"), atomically: true, encoding: .utf8)
        }
        for (path, data) in extra {
            let file = url.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: file)
        }
    }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

@Suite struct DatasetLoaderTests {
    static let corpus = [
        #"{"_id": "d1", "title": "Cells", "text": "Stem cells divide quickly in culture."}"#,
        #"{"_id": "d2", "title": "Heat", "text": "Heat conduction in composite slabs."}"#,
        #"{"_id": "d3", "title": "Cells", "text": "Stem cells divide quickly in culture."}"#,
        #"{"_id": "d4", "title": "", "text": "Wings flutter at high speed."}"#,
    ]
    static let queries = [
        #"{"_id": "q1", "text": "do stem cells divide quickly", "category": "short"}"#,
        #"{"_id": "q2", "text": "heat conduction in composite slabs", "category": "long"}"#,
        #"{"_id": "q3", "text": "wing flutter", "category": "short"}"#,
        #"{"_id": "q4", "text": "unjudged question", "category": "long"}"#,
    ]

    @Test func loadsAndReportsHygiene() throws {
        let folder = try TemporaryDataset(corpus: Self.corpus, queries: Self.queries, qrels: [
            "test": ["q1\td1\t1", "q2\td2\t2", "q3\td4\t1", "q3\tmissing\t1", "q9\td1\t1", "q1\td4\t0"],
            "train": ["q2\td2\t1"],
        ])
        defer { folder.remove() }
        let dataset = try DatasetLoader(folder: folder.url).load()
        #expect(dataset.documents.count == 4 && dataset.queries.count == 4)
        #expect(dataset.manifest.inferred == true)
        #expect(dataset.manifest.splits == ["test": 3, "train": 1])
        let test = try dataset.qrels("test")
        #expect(test.queries == [0, 1, 2])
        #expect(test.relevant(to: 1) == [Qrels.Judgement(document: 1, grade: 2)])
        #expect(test.relevant(to: 0).count == 1, "a zero score is not a judgement of relevance")
        #expect(dataset.hygiene.duplicateDocuments == [["d1", "d3"]])
        #expect(dataset.hygiene.queriesWithoutQrels == 1)
        #expect(dataset.hygiene.leakedQueries == ["q2"])
        #expect(Set(dataset.hygiene.unresolvedIDs) == ["test.tsv: document missing", "test.tsv: query q9"])
        #expect(throws: DatasetError.unknownSplit("dev", available: ["test", "train"])) { try dataset.qrels("dev") }
    }

    @Test func malformedLinesNameTheFileAndLine() throws {
        let badQuery = try TemporaryDataset(corpus: Self.corpus, queries: [Self.queries[0], #"{"_id": "q2", "category": "x"}"#], qrels: ["test": ["q1\td1\t1"]])
        defer { badQuery.remove() }
        #expect(throws: DatasetError.malformedLine(file: badQuery.url.appendingPathComponent("queries.jsonl").path, line: 2, reason: "missing field 'text'")) {
            try DatasetLoader(folder: badQuery.url).load()
        }
        let badJSON = try TemporaryDataset(corpus: [Self.corpus[0], "{not json"], queries: Self.queries, qrels: ["test": ["q1\td1\t1"]])
        defer { badJSON.remove() }
        do {
            _ = try DatasetLoader(folder: badJSON.url).load()
            Issue.record("malformed JSON was accepted")
        } catch let DatasetError.malformedLine(file, line, _) {
            #expect(file.hasSuffix("corpus.jsonl") && line == 2)
        }
        let badScore = try TemporaryDataset(corpus: Self.corpus, queries: Self.queries, qrels: ["test": ["q1\td1\t1", "q2\td2\thigh"]])
        defer { badScore.remove() }
        #expect(throws: DatasetError.malformedLine(file: badScore.url.appendingPathComponent("qrels/test.tsv").path, line: 3, reason: "score 'high' is not a number")) {
            try DatasetLoader(folder: badScore.url).load()
        }
    }

    @Test func oneJudgedSplitIsSplitByCategoryWithASeed() throws {
        let queries = (0..<40).map { #"{"_id": "q\#($0)", "text": "question \#($0)", "category": "\#($0 < 30 ? "a" : "b")"}"# }
        let rows = (0..<40).map { "q\($0)\td\($0 % 4 + 1)\t1" }
        let folder = try TemporaryDataset(corpus: Self.corpus, queries: queries, qrels: ["test": rows])
        defer { folder.remove() }
        let first = try DatasetLoader(folder: folder.url).load()
        let again = try DatasetLoader(folder: folder.url).load()
        let train = try first.qrels("train").queries
        let test = try first.qrels("test").queries
        #expect(train.count == 20 && test.count == 20)
        #expect(Set(train).isDisjoint(with: test))
        #expect(train.filter { $0 < 30 }.count == 15, "category a keeps its share in train")
        #expect(try again.qrels("train").queries == train)
        #expect(first.hygiene.derivedSplits != nil)
    }

    @Test func embeddingsAreAlignedByIdAndSizeChecked() throws {
        func floats(_ values: [Float]) -> Data { values.withUnsafeBufferPointer { Data(buffer: $0) } }
        let meta = Data(#"{"dim": 2}"#.utf8)
        let good = try TemporaryDataset(corpus: Self.corpus, queries: Self.queries, qrels: ["test": ["q1\td1\t1"]], extra: [
            "embeddings/toy/meta.json": meta,
            "embeddings/toy/corpus.ids": Data("d4\nd3\nd2\nd1\n".utf8),
            "embeddings/toy/corpus.f32": floats([4, 4, 3, 3, 2, 2, 1, 1]),
            "embeddings/toy/queries.ids": Data("q1\nq2\nq3\nq4\n".utf8),
            "embeddings/toy/queries.f32": floats([1, 0, 0, 1, 1, 1, 0, 0]),
        ])
        defer { good.remove() }
        let dataset = try DatasetLoader(folder: good.url).load()
        let embeddings = try #require(dataset.embeddings)
        #expect(embeddings.model == "toy" && embeddings.documents[0, 0] == 1 && embeddings.documents[3, 1] == 4)

        let short = try TemporaryDataset(corpus: Self.corpus, queries: Self.queries, qrels: ["test": ["q1\td1\t1"]], extra: [
            "embeddings/toy/meta.json": meta,
            "embeddings/toy/corpus.ids": Data("d1\nd2\nd3\nd4\n".utf8),
            "embeddings/toy/corpus.f32": floats([1, 1, 2, 2, 3, 3]),
            "embeddings/toy/queries.ids": Data("q1\nq2\nq3\nq4\n".utf8),
            "embeddings/toy/queries.f32": floats([1, 0, 0, 1, 1, 1, 0, 0]),
        ])
        defer { short.remove() }
        #expect(throws: DatasetError.embeddings(file: short.url.appendingPathComponent("embeddings/toy/corpus.f32").path,
                                                 reason: "24 bytes, expected 4 rows × 2 floats = 32")) {
            try DatasetLoader(folder: short.url).load()
        }
        #expect(try DatasetLoader(folder: short.url, loadsEmbeddings: false).load().embeddings == nil)
    }

    @Test func manifestsAreReadAndValidated() throws {
        let folder = try TemporaryDataset(corpus: Self.corpus, queries: Self.queries, qrels: ["test": ["q1\td1\t1"]], extra: [
            "manifest.yaml": Data("id: toy\nsource: hand-written\nderived_split:\n  train_fraction: 1.5\n".utf8),
        ])
        defer { folder.remove() }
        #expect(throws: DatasetError.manifest(file: folder.url.appendingPathComponent("manifest.yaml").path,
                                               reason: "field 'derived_split.train_fraction' is 1.5, allowed range (0, 1)")) {
            try DatasetLoader(folder: folder.url).load()
        }
        let manifest = try DatasetManifest.load(from: URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("datasets/manifests/cranfield.yaml"))
        #expect(manifest.id == "cranfield" && manifest.gates?.thresholds["relevancy_min"] == 0.45)
    }
}

@Suite struct DatasetUnionTests {
    @Test func unionPrefixesIdsUsesDatasetsAsCategoriesAndOffsetsQrels() throws {
        let a = try TemporaryDataset(corpus: DatasetLoaderTests.corpus, queries: DatasetLoaderTests.queries, qrels: ["test": ["q1\td1\t1"], "train": ["q2\td2\t2"]])
        let b = try TemporaryDataset(corpus: Array(DatasetLoaderTests.corpus.prefix(2)), queries: Array(DatasetLoaderTests.queries.prefix(2)), qrels: ["test": ["q2\td2\t1"], "train": ["q1\td1\t1"]])
        defer { a.remove(); b.remove() }
        var first = try DatasetLoader(folder: a.url).load()
        first.manifest.id = "alpha"
        var second = try DatasetLoader(folder: b.url).load()
        second.manifest.id = "beta"
        let union = Dataset.union([first, second])
        #expect(union.documents.count == 6 && union.queries.count == 6)
        #expect(union.documents[4].id == "beta/d1" && union.queries[5].id == "beta/q2")
        #expect(Set(union.queries.map(\.category)) == ["alpha", "beta"])
        let test = try union.qrels("test")
        // beta's q2 (query 5) judges beta's d2 (document 5).
        #expect(test.relevant(to: 5) == [Qrels.Judgement(document: 5, grade: 1)])
        #expect(test.relevant(to: 0) == [Qrels.Judgement(document: 0, grade: 1)])
        #expect(union.manifest.id == "alpha+beta")
    }
}
