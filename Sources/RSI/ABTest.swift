import Evaluators
import Foundation
import NumericCore
import Pipeline
import Scoring
import Statistics
import Tracking
import TunerPolicy

/// The success criteria a hypothesis's A/B test must meet.
public struct SuccessCriteria: Sendable, Codable, Equatable {
    public var minimumGain: Double
    public var requireIntervalAboveZero: Bool
    public var maxLatencyP95Milliseconds: Double?
    public var maxCostUSD: Double?
    public var minimumPairs: Int

    public init(_ c: RSIConfiguration) {
        minimumGain = c.minimumGain
        requireIntervalAboveZero = c.requireIntervalAboveZero
        maxLatencyP95Milliseconds = c.maxLatencyP95Milliseconds
        maxCostUSD = c.maxCostUSD
        minimumPairs = c.minimumPairs
    }
}

/// One A/B test of a hypothesis: its settings (B) against the current ones (A) on the same
/// queries, and whether the criteria hold.
public struct ABTestResult: Sendable, Codable, Equatable {
    public var hypothesis: String
    /// "offline" (held-out dataset queries) or "shadow" (the live service, settings by header).
    public var arm: String
    public var pairs: Int
    /// Per-query reward of B minus A, paired, bootstrap interval.
    public var gain: BootstrapInterval?
    public var latencyP95Milliseconds: Double
    public var costUSD: Double
    public var faithfulness: Double
    public var relevancy: Double
    /// The gates B breaches on the test queries.
    public var breaches: [String]
    public var failures: [String]
    public var passed: Bool { failures.isEmpty }

    init(hypothesis: String, arm: String, a: [Double], b: [Double], bOutcomes: ArmSummary, gates: PolicyConfiguration.GateThresholds,
         criteria: SuccessCriteria, bootstrap: Bootstrap) {
        self.hypothesis = hypothesis
        self.arm = arm
        pairs = a.count
        gain = a.count >= 2 ? bootstrap.pairedDifference(b, a) : nil
        latencyP95Milliseconds = bOutcomes.latencyP95
        costUSD = bOutcomes.cost
        faithfulness = bOutcomes.faithfulness
        relevancy = bOutcomes.relevancy
        let breaches = GateCheck.breaches(faithfulness: faithfulness, relevancy: relevancy, latencyP95Milliseconds: latencyP95Milliseconds,
                                          errorRate: bOutcomes.errorRate, gates: gates).map(\.text)
        self.breaches = breaches
        var failures = breaches.map { "gate breached: \($0)" }
        if pairs < criteria.minimumPairs { failures.append("\(pairs) pairs, fewer than the \(criteria.minimumPairs) required") }
        if let gain {
            if !(gain.estimate >= criteria.minimumGain) { failures.append(String(format: "gain %+.4f below the minimum %+.4f", gain.estimate, criteria.minimumGain)) }
            if criteria.requireIntervalAboveZero && !(gain.lower > 0) { failures.append(String(format: "interval [%+.4f, %+.4f] not above zero", gain.lower, gain.upper)) }
        }
        if let ceiling = criteria.maxLatencyP95Milliseconds, latencyP95Milliseconds > ceiling {
            failures.append(String(format: "p95 latency %.0f ms above the %.0f ms ceiling", latencyP95Milliseconds, ceiling))
        }
        if let ceiling = criteria.maxCostUSD, costUSD > ceiling { failures.append(String(format: "cost $%.6f above the $%.6f ceiling", costUSD, ceiling)) }
        self.failures = failures
    }

    /// What the B arm's outcomes summarise to.
    struct ArmSummary {
        var faithfulness: Double
        var relevancy: Double
        var latencyP95: Double
        var cost: Double
        var errorRate: Double

        init(faithfulness: [Double], relevancy: [Double], latencies: [Double], costs: [Double], errors: Int) {
            func mean(_ v: [Double]) -> Double { v.isEmpty ? .nan : v.reduce(0, +) / Double(v.count) }
            self.faithfulness = mean(faithfulness)
            self.relevancy = mean(relevancy)
            latencyP95 = latencies.isEmpty ? .nan : Percentile.sorted(latencies.sorted(), 95)
            cost = mean(costs)
            errorRate = Double(errors) / Double(max(latencies.count, 1))
        }
    }
}

/// The offline A/B test: both settings on the dataset's held-out (test split) questions of the
/// hypothesis's category that the window did not replay — the same queries, the same seed, and
/// the same measured stage times for both arms (the evaluation cache measures each query's stages
/// once), so the difference is the settings' alone.
public struct OfflineABTest {
    public let setup: EvaluationSetup
    public let system: RetrievalSystem
    public let criteria: SuccessCriteria
    public let bootstrap: Bootstrap

    public init(setup: EvaluationSetup, system: RetrievalSystem, criteria: SuccessCriteria, seed: UInt64) {
        self.setup = setup
        self.system = system
        self.criteria = criteria
        bootstrap = Bootstrap(seed: seed)
    }

    /// The held-out queries of `category`.
    public func queries(category: String, excluding window: Set<Int>) throws -> [Int] {
        try setup.queries(split: "test", category: category).filter { !window.contains($0) }
    }

    public func test(_ h: Hypothesis, excluding window: Set<Int>) throws -> ABTestResult {
        let cache = EvaluationCache(system: system, queries: try queries(category: h.category, excluding: window))
        let workspace = cache.makeWorkspace()
        let weights = setup.reward.weights
        func reward(_ o: QueryOutcome) -> Double {
            weights.queryReward(faithfulness: o.faithfulness, relevancy: o.relevancy, latencyMilliseconds: o.latencyMilliseconds, costUSD: o.costUSD)
        }
        let a = try (0..<cache.queries.count).map { try cache.outcome(at: $0, configuration: h.from, workspace: workspace) }
        let b = try (0..<cache.queries.count).map { try cache.outcome(at: $0, configuration: h.to, workspace: workspace) }
        let summary = ABTestResult.ArmSummary(
            faithfulness: b.map(\.faithfulness), relevancy: b.map(\.relevancy), latencies: b.map(\.latencyMilliseconds), costs: b.map(\.costUSD),
            errors: b.filter(\.failed).count)
        return ABTestResult(hypothesis: h.id, arm: "offline", a: a.map(reward), b: b.map(reward), bOutcomes: summary,
                            gates: setup.reward.forCategory(h.category).gates, criteria: criteria, bootstrap: bootstrap)
    }
}

/// The shadow A/B test: the same held-out questions sent to a live service's `/query` with each
/// arm's settings in the `X-RAG-Configuration` header, in mirrored order (A then B for even
/// questions, B then A for odd ones) so that warm-up and drift of the live service fall on both
/// arms alike. The service's judgement and measured latency and cost give each answer's reward.
public struct ShadowABTest: Sendable {
    public let url: URL
    public let criteria: SuccessCriteria
    public let bootstrap: Bootstrap
    public let weights: PolicyConfiguration.RewardWeights
    public let timeout: TimeInterval

    public init(url: URL, criteria: SuccessCriteria, weights: PolicyConfiguration.RewardWeights, seed: UInt64, timeout: TimeInterval = 10) {
        self.url = url
        self.criteria = criteria
        self.weights = weights
        bootstrap = Bootstrap(seed: seed)
        self.timeout = timeout
    }

    struct Answer: Decodable {
        struct Judgement: Decodable {
            var faithfulness: Double
            var relevancy: Double
        }
        var answer: String
        var latencyMilliseconds: Double
        var costUSD: Double
        var judgement: Judgement?
        enum CodingKeys: String, CodingKey {
            case answer, judgement
            case latencyMilliseconds = "latency_ms"
            case costUSD = "cost_usd"
        }
    }

    public func test(_ h: Hypothesis, questions: [String], gates: PolicyConfiguration.GateThresholds) async throws -> ABTestResult {
        let post = JSONPost(url: url.appendingPathComponent("query"), peer: "shadow service", timeout: timeout)
        let encoder = JSONEncoder.sorted
        func ask(_ question: String, _ settings: RAGSettings) async throws -> Answer {
            let body = try JSONSerialization.data(withJSONObject: ["question": question, "category": h.category])
            let header = String(decoding: try encoder.encode(settings), as: UTF8.self)
            let data = try await post.send(body, headers: ["X-RAG-Configuration": header, "X-Request-ID": "rsi-shadow-\(UUID().uuidString)"])
            return try JSONDecoder().decode(Answer.self, from: data)
        }
        var a: [Answer] = [], b: [Answer] = []
        for (i, question) in questions.enumerated() {
            try Task.checkCancellation()
            if i % 2 == 0 {
                let first = try await ask(question, h.from)
                a.append(first)
                b.append(try await ask(question, h.to))
            } else {
                let first = try await ask(question, h.to)
                b.append(first)
                a.append(try await ask(question, h.from))
            }
        }
        let judged = zip(a, b).filter { $0.judgement != nil && $1.judgement != nil }
        func reward(_ x: Answer) -> Double {
            weights.queryReward(faithfulness: x.judgement!.faithfulness, relevancy: x.judgement!.relevancy,
                                latencyMilliseconds: x.latencyMilliseconds, costUSD: x.costUSD)
        }
        let bs = judged.map(\.1)
        let summary = ABTestResult.ArmSummary(
            faithfulness: bs.map { $0.judgement!.faithfulness }, relevancy: bs.map { $0.judgement!.relevancy },
            latencies: bs.map(\.latencyMilliseconds), costs: bs.map(\.costUSD), errors: bs.filter { $0.answer.isEmpty }.count)
        return ABTestResult(hypothesis: h.id, arm: "shadow", a: judged.map { reward($0.0) }, b: bs.map(reward), bOutcomes: summary,
                            gates: gates, criteria: criteria, bootstrap: bootstrap)
    }
}
