import Foundation
import NumericCore
import Retrieval
import Scoring

/// Everything built once per dataset that the pipeline reads per query: the BM25 index, the
/// dense index (shipped embeddings, or the LSA fallback when the dataset has none), the
/// sentence-split passages, and the re-ranker trained on the train split.
public final class RetrievalSystem: @unchecked Sendable {
    public struct Options: Sendable {
        public var bm25 = BM25Index.Parameters()
        /// Candidates taken from each retriever into a query's pool.
        public var poolDepth = 50
        /// First-stage candidates the re-ranker reorders (at least k).
        public var rerankDepth = 30
        public var lsa = LatentSemanticIndex.Parameters()
        public var reranker = Reranker.TrainingOptions()
        /// The split the re-ranker learns from, and at most how many of its queries (a seeded
        /// sample beyond that: SQuAD's 8,570 add nothing over 2,000 but time).
        public var trainSplit = "train"
        public var maxTrainingQueries = 2000
        public init() {}
    }

    public let dataset: Dataset
    public let options: Options
    public let costModel: PipelineModel
    public let lexical: BM25Index
    public let dense: DenseIndex
    /// One row per dataset query, aligned with `dataset.queries`.
    public let queryVectors: Matrix
    /// Embeds new question text when the dense index is the LSA fallback; nil when the dense
    /// index holds a dataset's precomputed embeddings (the model that made them is not here).
    let questionEncoder: LatentSemanticIndex?
    public let sentences: PassageSentences
    /// nil when the dataset has no train split to learn from.
    public private(set) var reranker: Reranker?
    /// Gold grades per query: document → grade.
    public let grades: [[Int32: Float]]
    /// Each document's distinct title terms (BM25 vocabulary ids, sorted).
    private let titleTerms: [[Int32]]

    public init(dataset: Dataset, costModel: PipelineModel = PipelineModel(), options: Options = Options()) throws {
        self.dataset = dataset
        self.options = options
        self.costModel = costModel
        let texts = dataset.documents.map(\.indexedText)
        lexical = BM25Index(documents: texts, parameters: options.bm25)
        if let embeddings = dataset.embeddings {
            dense = DenseIndex(label: embeddings.model, documents: embeddings.documents)
            queryVectors = embeddings.queries
            questionEncoder = nil
        } else {
            let lsa = try LatentSemanticIndex(documents: texts, parameters: options.lsa)
            dense = lsa.documents
            queryVectors = lsa.embed(dataset.queries.map(\.text))
            questionEncoder = lsa
        }
        sentences = PassageSentences(documents: dataset.documents, index: lexical)
        titleTerms = dataset.documents.map { [lexical] d in Set(lexical.analyzer.terms(d.title).compactMap { lexical.termID($0) }).sorted() }
        var grades = [[Int32: Float]](repeating: [:], count: dataset.queries.count)
        for qrels in dataset.splits.values {
            for q in qrels.queries {
                for j in qrels.relevant(to: q) { grades[q][Int32(j.document)] = max(grades[q][Int32(j.document)] ?? 0, j.grade) }
            }
        }
        self.grades = grades
        reranker = nil
        if let train = dataset.splits[options.trainSplit] {
            // The re-ranker only ever reorders a first stage's top `rerankDepth`, so it learns
            // from those candidates: the hard negatives.
            let depth = Int32(options.rerankDepth)
            var trainingQueries = train.queries
            if trainingQueries.count > options.maxTrainingQueries {
                var rng = RandomGenerator(seed: options.reranker.seed)
                rng.shuffle(&trainingQueries)
                trainingQueries = Array(trainingQueries.prefix(options.maxTrainingQueries)).sorted()
            }
            let examples = trainingQueries.map { q -> Reranker.Example in
                let pool = firstStage(query: q).pool.filter { $0.lexicalRank < depth || $0.denseRank < depth }
                return Reranker.Example(pool: pool, grades: pool.documents.map { grades[q][$0] ?? 0 })
            }
            reranker = try Reranker.train(examples, documentLengths: lexical.documentLengths, options: options.reranker)
        }
    }

    /// The first stage of one query: every document's BM25 score and dense similarity, the
    /// pool, and how long each took.
    public struct FirstStage {
        public var lexicalScores: [Float]
        public var denseScores: [Float]
        public var pool: CandidatePool
        public var queryTerms: [(term: Int32, count: Float)]
        /// The query's distinct terms with their idf: title coverage here, the answer step later.
        public var queryWeights: AnswerStep.QueryWeights
        public var times = StageTimes()
    }

    public enum QuestionError: Error, CustomStringConvertible {
        case cannotEmbed(model: String)
        public var description: String {
            switch self {
            case let .cannotEmbed(model):
                "dense retrieval of a new question needs the '\(model)' encoder, which is not part of the tuner; ask a dataset question or use a dataset without precomputed embeddings (LSA)"
            }
        }
    }

    public func firstStage(query q: Int) -> FirstStage {
        queryVectors.withView { all in firstStage(text: dataset.queries[q].text, vector: all.rows(q..<(q + 1)).base) }
    }

    /// The first stage of a question that need not be in the dataset: embedded by LSA, or — with
    /// precomputed embeddings — found among the dataset's questions by its exact text.
    public func firstStage(question: String) throws -> FirstStage {
        if let questionEncoder {
            let vector = questionEncoder.embed([question])
            return vector.withView { firstStage(text: question, vector: $0.base) }
        }
        guard let q = dataset.queries.firstIndex(where: { $0.text == question }) else {
            throw QuestionError.cannotEmbed(model: dense.label)
        }
        return firstStage(query: q)
    }

    private func firstStage(text: String, vector: UnsafePointer<Float>) -> FirstStage {
        let n = dataset.documents.count
        var lexicalScores = [Float](repeating: 0, count: n)
        var matched = [Float](repeating: 0, count: n)
        var times = StageTimes()

        var clock = Stopwatch()
        let terms = lexical.queryTerms(text)
        lexicalScores.withUnsafeMutableBufferPointer { s in
            matched.withUnsafeMutableBufferPointer { m in lexical.score(terms, into: s, matchedTerms: m) }
        }
        times.lexical = clock.milliseconds

        clock = Stopwatch()
        var denseScores = [Float](repeating: 0, count: n)
        dense.documents.withView { d in
            denseScores.withUnsafeMutableBufferPointer { out in
                BLAS.gemv(d, vector, xCount: dense.dimension, into: out.baseAddress!, yCount: n)
            }
        }
        times.dense = clock.milliseconds

        clock = Stopwatch()
        var pool = lexicalScores.withUnsafeBufferPointer { l in
            denseScores.withUnsafeBufferPointer { d in
                matched.withUnsafeBufferPointer { m in
                    CandidatePool(lexicalScores: l, denseScores: d, matchedTerms: m, queryTermCount: terms.count, depth: options.poolDepth)
                }
            }
        }
        let weights = AnswerStep.queryWeights(terms, index: lexical)
        pool.titleCoverage = pool.documents.map { AnswerStep.support(titleTerms[Int($0)], weights) }
        times.fusion = clock.milliseconds
        return FirstStage(
            lexicalScores: lexicalScores, denseScores: denseScores, pool: pool, queryTerms: terms, queryWeights: weights, times: times)
    }
}

extension Dictionary where Key == Int32, Value == Float {
    /// The sum of a question's relevance grades, in document order: a dictionary's own order
    /// changes from process to process, and so would the last bits of a Float sum over it.
    var totalGrade: Float { sorted { $0.key < $1.key }.reduce(0) { $0 + $1.value } }
}
