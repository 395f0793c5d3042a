/// The built-in judge, computed from the dataset's gold labels; no language model involved.
///
/// - relevancy ("qrels-relevancy"): ½ · graded recall of the context (share of the query's total
///   relevance grade that reached the generator) + ½ · rank-weighted precision (average precision
///   over the context's passages in retrieval order, normalised by min(n, #relevant)).
/// - faithfulness ("gold-support"): whether the answer's source passage is one the qrels judge
///   relevant, graded (its grade / the query's highest grade). Where the dataset has gold answers,
///   the mean of that support and the answer's token recall of the best gold answer (SQuAD
///   normalisation) — the answer must rest on a relevant passage *and* contain the answer.
public struct GoldJudge: Judge {
    public let name = "gold-support/qrels-relevancy"

    public init() {}

    public func score(_ requests: [JudgeRequest]) async throws -> [JudgeScores] {
        requests.map { r in
            JudgeScores(
                faithfulness: Self.faithfulness(
                    sourceGrade: r.answerSourceGrade, maxGrade: r.relevantMaxGrade,
                    answerRecall: r.goldAnswers.isEmpty ? nil : AnswerOverlap.recall(answer: r.answer, gold: r.goldAnswers)),
                relevancy: Self.relevancy(gradesByRank: r.contextGradesByRank, relevantCount: r.relevantCount, totalGrade: r.relevantTotalGrade))
        }
    }

    @inlinable
    public static func faithfulness(sourceGrade: Float, maxGrade: Float, answerRecall: Double?) -> Double {
        let support = maxGrade > 0 ? Double(sourceGrade / maxGrade) : 0
        guard let answerRecall else { return support }
        return 0.5 * support + 0.5 * answerRecall
    }

    @inlinable
    public static func relevancy(gradesByRank: some Collection<Float>, relevantCount: Int, totalGrade: Float) -> Double {
        guard relevantCount > 0, totalGrade > 0 else { return 0 }
        var found: Float = 0
        var hits = 0
        var precisionSum = 0.0
        var rank = 0
        for g in gradesByRank {
            rank += 1
            guard g > 0 else { continue }
            found += g
            hits += 1
            precisionSum += Double(hits) / Double(rank)
        }
        let recall = Double(found / totalGrade)
        let denominator = min(gradesByRank.count, relevantCount)
        let precision = denominator > 0 ? precisionSum / Double(denominator) : 0
        return 0.5 * recall + 0.5 * precision
    }
}
