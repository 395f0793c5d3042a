/// A passage of the corpus.
public struct Document: Sendable, Equatable {
    public var id: String
    public var title: String
    public var text: String

    public init(id: String, title: String, text: String) {
        self.id = id
        self.title = title
        self.text = text
    }

    /// What gets indexed and embedded: the title, then the text (BEIR's convention).
    public var indexedText: String { title.isEmpty ? text : title + " " + text }
}

/// A question, with its category and, where the dataset has them, gold answers.
public struct Query: Sendable, Equatable {
    public var id: String
    public var text: String
    public var category: String
    public var answers: [String]

    public init(id: String, text: String, category: String = Query.uncategorised, answers: [String] = []) {
        self.id = id
        self.text = text
        self.category = category
        self.answers = answers
    }

    public static let uncategorised = "all"
}

/// Graded relevance judgements of one split: for each judged query (by index into the
/// dataset's queries), the relevant documents (by index into the corpus) and their grades > 0.
public struct Qrels: Sendable, Equatable {
    public struct Judgement: Sendable, Equatable {
        public var document: Int
        public var grade: Float
        public init(document: Int, grade: Float) {
            self.document = document
            self.grade = grade
        }
    }

    /// Query indices in the order they were first seen in the file.
    public private(set) var queries: [Int] = []
    public private(set) var judgements: [Int: [Judgement]] = [:]

    public init() {}

    public mutating func add(query: Int, document: Int, grade: Float) {
        if judgements[query] == nil { queries.append(query) }
        judgements[query, default: []].append(Judgement(document: document, grade: grade))
    }

    public func relevant(to query: Int) -> [Judgement] { judgements[query] ?? [] }

    /// The judgements restricted to `subset` of the queries, in `subset`'s order.
    public func restricted(to subset: [Int]) -> Qrels {
        var result = Qrels()
        for q in subset {
            for j in relevant(to: q) { result.add(query: q, document: j.document, grade: j.grade) }
        }
        return result
    }
}

/// A dataset in the BEIR layout, loaded: corpus, queries, qrels per split and, optionally,
/// embeddings of corpus and queries.
public struct Dataset: Sendable {
    public var manifest: DatasetManifest
    public var documents: [Document]
    public var queries: [Query]
    public var splits: [String: Qrels]
    public var embeddings: Embeddings?
    public var hygiene: HygieneReport

    public init(
        manifest: DatasetManifest, documents: [Document], queries: [Query],
        splits: [String: Qrels], embeddings: Embeddings?, hygiene: HygieneReport
    ) {
        self.manifest = manifest
        self.documents = documents
        self.queries = queries
        self.splits = splits
        self.embeddings = embeddings
        self.hygiene = hygiene
    }

    public func qrels(_ split: String) throws -> Qrels {
        guard let qrels = splits[split] else {
            throw DatasetError.unknownSplit(split, available: splits.keys.sorted())
        }
        return qrels
    }
}
