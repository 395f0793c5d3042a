import NumericCore
import Scoring
import TunerPolicy

/// The metrics of a batch (or of one category within it), the reward and the gate verdicts.
/// Its JSON form (snake_case, the reward's parts flattened in) is what every report prints.
public struct MetricsSummary: Sendable, Equatable, Codable {
    public var n: Int
    public var ndcgAt10: Double
    public var recallAt10: Double
    public var faithfulness: Double
    public var relevancy: Double
    public var answerF1: Double?
    public var latencyP50Milliseconds: Double
    public var latencyP95Milliseconds: Double
    /// Mean per query.
    public var costUSD: Double
    public var errorRate: Double
    public var violationRate: Double
    public var qualitySpread: Double
    public var reward: RewardBreakdown
    /// Whether the gates hold with confidence, not only at the point estimates: faithfulness and
    /// relevancy at their mean − ``marginZ`` standard errors, p95 latency at its upper confidence
    /// bound (the order statistic a one-sided 95% interval for the 95th percentile ends at), the
    /// error rate as measured (a bound on a 1% rate needs more questions than a category has).
    /// What a choice on the train split asks of a configuration, so it does not flip with a few
    /// milliseconds or a few questions of noise; reports show the point estimates.
    public var gatesHeldWithMargin: Bool

    public var gatesPassed: Bool { reward.gatesPassed }
    /// One-sided 95%.
    public static let marginZ = 1.645
    /// The margin in words, as verdicts state it.
    public static let marginDescription = "gates held with one-sided 95% bounds: faithfulness and relevancy at mean − 1.645 SE, "
        + "p95 latency at its upper confidence bound; error rate as measured"

    enum CodingKeys: String, CodingKey {
        case n, faithfulness, relevancy, reward, penalty, gates
        case ndcgAt10 = "ndcg_at_10", recallAt10 = "recall_at_10", answerF1 = "answer_f1"
        case latencyP50Milliseconds = "latency_p50_ms", latencyP95Milliseconds = "latency_p95_ms", costUSD = "cost_usd"
        case errorRate = "error_rate", violationRate = "violation_rate", qualitySpread = "quality_spread", gatesPassed = "gates_passed"
        case latencyNormalized = "latency_normalized", costNormalized = "cost_normalized"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func number(_ key: CodingKeys) throws -> Double { try c.decode(Double.self, forKey: key) }
        n = try c.decode(Int.self, forKey: .n)
        (ndcgAt10, recallAt10, faithfulness, relevancy) = (try number(.ndcgAt10), try number(.recallAt10), try number(.faithfulness), try number(.relevancy))
        answerF1 = try c.decodeIfPresent(Double.self, forKey: .answerF1)
        (latencyP50Milliseconds, latencyP95Milliseconds) = (try number(.latencyP50Milliseconds), try number(.latencyP95Milliseconds))
        (costUSD, errorRate, violationRate, qualitySpread) = (try number(.costUSD), try number(.errorRate), try number(.violationRate), try number(.qualitySpread))
        reward = RewardBreakdown(
            reward: try number(.reward), latencyNormalized: try number(.latencyNormalized), costNormalized: try number(.costNormalized),
            penalty: try number(.penalty), gates: try c.decode([GateResult].self, forKey: .gates))
        gatesHeldWithMargin = reward.gatesPassed
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        for (key, value) in [(CodingKeys.ndcgAt10, ndcgAt10), (.recallAt10, recallAt10), (.faithfulness, faithfulness), (.relevancy, relevancy),
                             (.latencyP50Milliseconds, latencyP50Milliseconds), (.latencyP95Milliseconds, latencyP95Milliseconds), (.costUSD, costUSD),
                             (.errorRate, errorRate), (.violationRate, violationRate), (.qualitySpread, qualitySpread), (.reward, reward.reward),
                             (.penalty, reward.penalty), (.latencyNormalized, reward.latencyNormalized), (.costNormalized, reward.costNormalized)] {
            try c.encode(value, forKey: key)
        }
        try c.encode(n, forKey: .n)
        try c.encodeIfPresent(answerF1, forKey: .answerF1)
        try c.encode(gatesPassed, forKey: .gatesPassed)
        try c.encode(reward.gates, forKey: .gates)
    }

    /// Summarises `outcomes[members]` (all of them when `members` is nil; at least one) in one
    /// pass, plus a sort of the latencies for the percentiles.
    public init(_ outcomes: [QueryOutcome], members: [Int]? = nil, reward function: RewardFunction) {
        var n = 0, answered = 0
        var ndcg = 0.0, recall = 0.0, faithfulness = 0.0, relevancy = 0.0, f1 = 0.0, cost = 0.0
        var faithfulnessSquares = 0.0, relevancySquares = 0.0
        var failures = 0, violations = 0
        var quality = 0.0, qualitySquares = 0.0
        var latencies: [Double] = []
        latencies.reserveCapacity(members?.count ?? outcomes.count)
        func add(_ o: QueryOutcome) {
            n += 1
            ndcg += o.ndcgAt10
            recall += o.recallAt10
            faithfulness += o.faithfulness
            relevancy += o.relevancy
            faithfulnessSquares += o.faithfulness * o.faithfulness
            relevancySquares += o.relevancy * o.relevancy
            if let answerF1 = o.answerF1 {
                f1 += answerF1
                answered += 1
            }
            cost += o.costUSD
            failures += o.failed ? 1 : 0
            violations += o.violation ? 1 : 0
            let q = function.quality(faithfulness: o.faithfulness, relevancy: o.relevancy)
            quality += q
            qualitySquares += q * q
            latencies.append(o.latencyMilliseconds)
        }
        if let members { for i in members { add(outcomes[i]) } } else { for o in outcomes { add(o) } }
        precondition(n > 0, "a summary needs at least one query")
        let count = Double(n)
        self.n = n
        ndcgAt10 = ndcg / count
        recallAt10 = recall / count
        self.faithfulness = faithfulness / count
        self.relevancy = relevancy / count
        // Over the questions with gold answers: a union mixes datasets with and without them.
        answerF1 = answered == 0 ? nil : f1 / Double(answered)
        latencies.sort()
        latencyP50Milliseconds = Percentile.sorted(latencies, 50)
        latencyP95Milliseconds = Percentile.sorted(latencies, 95)
        costUSD = cost / count
        errorRate = Double(failures) / count
        violationRate = Double(violations) / count
        let meanQuality = quality / count
        qualitySpread = max(qualitySquares / count - meanQuality * meanQuality, 0).squareRoot()
        self.reward = function.evaluate(BatchMeasurement(
            faithfulness: self.faithfulness, relevancy: self.relevancy, latencyP95Milliseconds: latencyP95Milliseconds,
            costUSD: costUSD, errorRate: errorRate, violationRate: violationRate, qualitySpread: qualitySpread))
        func lowerBound(_ mean: Double, _ squares: Double) -> Double {
            mean - Self.marginZ * (max(squares / count - mean * mean, 0) / count).squareRoot()
        }
        // The 1-based rank of the 95th percentile's upper bound: 0.95n + z·√(0.95·0.05·n), rounded up.
        let rank = min(n, Int((0.95 * count + Self.marginZ * (0.95 * 0.05 * count).squareRoot()).rounded(.up)))
        gatesHeldWithMargin = reward.gatesPassed && function.gateResults(BatchMeasurement(
            faithfulness: lowerBound(self.faithfulness, faithfulnessSquares), relevancy: lowerBound(self.relevancy, relevancySquares),
            latencyP95Milliseconds: max(latencies[rank - 1], latencyP95Milliseconds), costUSD: costUSD, errorRate: errorRate,
            violationRate: violationRate, qualitySpread: qualitySpread)).allSatisfy(\.passed)
    }
}

/// A configuration's results on a batch: overall and per query category.
public struct BatchReport: Sendable, Equatable {
    public var configuration: RAGSettings
    public var overall: MetricsSummary
    public var perCategory: [String: MetricsSummary]

    /// `categories[i]` is the index into `categoryNames` of `outcomes[i]`'s category.
    public init(configuration: RAGSettings, outcomes: [QueryOutcome], categories: [Int], categoryNames: [String], reward: RewardFunction) {
        precondition(!outcomes.isEmpty && categories.count == outcomes.count, "a batch report needs one category per outcome")
        self.configuration = configuration
        overall = MetricsSummary(outcomes, reward: reward)
        var members = [[Int]](repeating: [], count: categoryNames.count)
        for (i, c) in categories.enumerated() { members[c].append(i) }
        var perCategory: [String: MetricsSummary] = [:]
        for (c, name) in categoryNames.enumerated() where !members[c].isEmpty {
            perCategory[name] = MetricsSummary(outcomes, members: members[c], reward: reward.forCategory(name))
        }
        self.perCategory = perCategory
    }

    /// Category indices and names for outcomes whose categories are given by name.
    public static func categoryIndices(_ names: [String]) -> (indices: [Int], names: [String]) {
        let distinct = Array(Set(names)).sorted()
        let index = Dictionary(uniqueKeysWithValues: distinct.enumerated().map { ($1, $0) })
        return (names.map { index[$0]! }, distinct)
    }
}
