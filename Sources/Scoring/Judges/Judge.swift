/// What a judge sees of one answered query. The gold fields are filled from the dataset for the
/// built-in judges; an external judge reads only question, contexts and answer.
public struct JudgeRequest: Sendable, Equatable {
    public var question: String
    /// Passage texts as the generator saw them, in context order.
    public var contexts: [String]
    public var answer: String
    /// qrels grade (0 = not judged relevant) of each context passage, in retrieval-rank order.
    public var contextGradesByRank: [Float]
    /// Grade of the passage the answer was taken from (0 when not relevant or no answer).
    public var answerSourceGrade: Float
    /// Number of relevant passages for the query, their total and highest grade.
    public var relevantCount: Int
    public var relevantTotalGrade: Float
    public var relevantMaxGrade: Float
    public var goldAnswers: [String]

    public init(
        question: String, contexts: [String], answer: String, contextGradesByRank: [Float], answerSourceGrade: Float,
        relevantCount: Int, relevantTotalGrade: Float, relevantMaxGrade: Float, goldAnswers: [String]
    ) {
        self.question = question
        self.contexts = contexts
        self.answer = answer
        self.contextGradesByRank = contextGradesByRank
        self.answerSourceGrade = answerSourceGrade
        self.relevantCount = relevantCount
        self.relevantTotalGrade = relevantTotalGrade
        self.relevantMaxGrade = relevantMaxGrade
        self.goldAnswers = goldAnswers
    }
}

public struct JudgeScores: Sendable, Equatable {
    public var faithfulness: Double
    public var relevancy: Double
    public init(faithfulness: Double, relevancy: Double) {
        self.faithfulness = faithfulness
        self.relevancy = relevancy
    }
}

/// Scores answers for faithfulness F and relevancy R, each in [0, 1].
public protocol Judge: Sendable {
    /// Names what F and R compute, e.g. "gold-support/qrels-relevancy".
    var name: String { get }
    func score(_ requests: [JudgeRequest]) async throws -> [JudgeScores]
}
