import Evaluation

/// The metrics of a batch (or of one category within it), the reward and the gate verdicts.
public struct MetricsSummary: Sendable, Equatable {
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

    public var gatesPassed: Bool { reward.gatesPassed }

    /// Summarises `outcomes` (at least one).
    public init(_ outcomes: some Collection<QueryOutcome>, reward function: RewardFunction) {
        let count = Double(outcomes.count)
        func mean(_ value: (QueryOutcome) -> Double) -> Double { outcomes.reduce(0) { $0 + value($1) } / count }
        n = outcomes.count
        ndcgAt10 = mean(\.ndcgAt10)
        recallAt10 = mean(\.recallAt10)
        faithfulness = mean(\.faithfulness)
        relevancy = mean(\.relevancy)
        answerF1 = outcomes.first?.answerF1 == nil ? nil : mean { $0.answerF1 ?? 0 }
        let latencies = outcomes.map(\.latencyMilliseconds).sorted()
        latencyP50Milliseconds = Percentile.sorted(latencies, 50)
        latencyP95Milliseconds = Percentile.sorted(latencies, 95)
        costUSD = mean(\.costUSD)
        errorRate = mean { $0.failed ? 1 : 0 }
        violationRate = mean { $0.violation ? 1 : 0 }
        let qualities = outcomes.map { function.quality(faithfulness: $0.faithfulness, relevancy: $0.relevancy) }
        let qualityMean = qualities.reduce(0, +) / count
        qualitySpread = (qualities.reduce(0) { $0 + ($1 - qualityMean) * ($1 - qualityMean) } / count).squareRoot()
        reward = function.evaluate(BatchMeasurement(
            faithfulness: faithfulness, relevancy: relevancy, latencyP95Milliseconds: latencyP95Milliseconds,
            costUSD: costUSD, errorRate: errorRate, violationRate: violationRate, qualitySpread: qualitySpread))
    }
}

/// A configuration's results on a batch: overall and per query category.
public struct BatchReport: Sendable, Equatable {
    public var configuration: RAGConfiguration
    public var overall: MetricsSummary
    public var perCategory: [String: MetricsSummary]

    public init(configuration: RAGConfiguration, outcomes: [QueryOutcome], categories: [String], reward: RewardFunction) {
        precondition(!outcomes.isEmpty, "a batch report needs at least one query")
        self.configuration = configuration
        overall = MetricsSummary(outcomes, reward: reward)
        var groups: [String: [QueryOutcome]] = [:]
        for outcome in outcomes { groups[categories[outcome.query], default: []].append(outcome) }
        perCategory = groups.mapValues { MetricsSummary($0, reward: reward) }
    }
}
