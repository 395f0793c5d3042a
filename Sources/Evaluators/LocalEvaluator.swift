import Foundation
import NumericCore
import Pipeline
import Scoring
import TunerPolicy

/// The evaluator protocol over the built-in pipeline: a batch is drawn (seeded, without
/// replacement, from the split or one category of it) and scored through the evaluation cache,
/// which reproduces the from-scratch pipeline exactly.
public final class LocalEvaluator: Sendable {
    public let setup: EvaluationSetup
    public let system: RetrievalSystem
    /// One cache per judged split.
    public let caches: [String: EvaluationCache]

    public enum Failure: Error, CustomStringConvertible, Equatable {
        case unknownSplit(String, available: [String])
        case unknownCategory(String, split: String, available: [String])
        case batchSize(Int)
        case configuration(String)
        case unknownQuestion(String, split: String)
        case duplicateQuestion(String)
        case ambiguousRequest

        public var description: String {
            switch self {
            case let .unknownSplit(split, available): "batch.split '\(split)' is not judged here; available: \(available.joined(separator: ", "))"
            case let .unknownCategory(category, split, available):
                "batch.category '\(category)' has no queries in split '\(split)'; available: \(available.joined(separator: ", "))"
            case let .batchSize(size): "batch.size is \(size), expected 1...\(EvaluatorProtocol.maxBatchSize)"
            case let .configuration(reason): "configuration: \(reason)"
            case let .unknownQuestion(id, split): "questions.ids: '\(id)' is not a question of split '\(split)'"
            case let .duplicateQuestion(id): "questions.ids: '\(id)' is named twice"
            case .ambiguousRequest: "the request names both questions and a batch, or neither: send exactly one"
            }
        }
    }

    public init(setup: EvaluationSetup, system: RetrievalSystem) throws {
        try setup.policy.requirePipelineKnobs(for: "the built-in evaluator")
        self.setup = setup
        self.system = system
        var caches: [String: EvaluationCache] = [:]
        for split in setup.dataset.splits.keys { caches[split] = EvaluationCache(system: system, queries: try setup.queries(split: split)) }
        self.caches = caches
        var positions: [String: [String: Int]] = [:]
        for (split, cache) in caches {
            positions[split] = Dictionary(uniqueKeysWithValues: cache.queries.enumerated().map { (setup.dataset.queries[$1].id, $0) })
        }
        self.positions = positions
        let splits = caches.mapValues { cache in
            Dictionary(grouping: cache.queries.indices, by: { cache.categories[cache.categoryIndex(at: $0)] })
                .mapValues { $0.map { setup.dataset.queries[cache.queries[$0]].id } }
        }
        // The answers depend on the questions, the data's commit and the modelled services.
        let fingerprint = (try? JSONEncoder.sorted.encode(splits)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        knobs = try setup.policy.knobs()
        description = EvaluatorProtocol.Description(
            dataset: setup.dataset.manifest.id,
            version: StableHash.hexDigest("\(fingerprint)|\(setup.dataset.manifest.commit ?? "")|\(setup.costModel)".utf8),
            splits: splits, gates: setup.gates, categoryGates: setup.categoryGates, knobs: knobs)
    }

    /// The built-in pipeline's knobs within the policy configuration's bounds: what a request may set.
    public let knobs: KnobDeclaration

    /// Question id → cache position, per split.
    let positions: [String: [String: Int]]
    /// What `GET /tuner/evaluator` answers.
    public let description: EvaluatorProtocol.Description

    /// Refuses settings outside the policy configuration's action bounds, naming the field.
    public func validate(_ c: RAGSettings) throws {
        if let problem = setup.policy.actions.problem(with: c, rerankAvailable: system.reranker != nil) { throw Failure.configuration(problem) }
    }

    /// The settings a request's configuration names, checked against the knobs and the bounds.
    public func settings(_ c: Configuration) throws -> (configuration: Configuration, settings: RAGSettings) {
        do {
            let canonical = try knobs.canonical(c)
            let settings = try RAGSettings(canonical)
            try validate(settings)
            return (canonical, settings)
        } catch let problem as KnobProblem {
            throw Failure.configuration(problem.description)
        }
    }

    /// The queries (cache positions) a request names or draws.
    public func draw(_ request: EvaluatorProtocol.Request) throws -> (cache: EvaluationCache, positions: [Int]) {
        switch (request.questions, request.batch) {
        case let (questions?, nil): return try draw(questions)
        case let (nil, batch?): return try draw(batch)
        default: throw Failure.ambiguousRequest
        }
    }

    func draw(_ questions: EvaluatorProtocol.Questions) throws -> (cache: EvaluationCache, positions: [Int]) {
        guard (1...EvaluatorProtocol.maxBatchSize).contains(questions.ids.count) else { throw Failure.batchSize(questions.ids.count) }
        guard let cache = caches[questions.split], let index = positions[questions.split] else {
            throw Failure.unknownSplit(questions.split, available: caches.keys.sorted())
        }
        var seen = Set<String>()
        return (cache, try questions.ids.map { id in
            guard let position = index[id] else { throw Failure.unknownQuestion(id, split: questions.split) }
            guard seen.insert(id).inserted else { throw Failure.duplicateQuestion(id) }
            return position
        })
    }

    func draw(_ batch: EvaluatorProtocol.Batch) throws -> (cache: EvaluationCache, positions: [Int]) {
        guard (1...EvaluatorProtocol.maxBatchSize).contains(batch.size) else { throw Failure.batchSize(batch.size) }
        guard let cache = caches[batch.split] else { throw Failure.unknownSplit(batch.split, available: caches.keys.sorted()) }
        var positions = Array(0..<cache.queries.count)
        if let category = batch.category {
            guard let c = cache.categories.firstIndex(of: category) else {
                throw Failure.unknownCategory(category, split: batch.split, available: cache.categories)
            }
            positions = positions.filter { cache.categoryIndex(at: $0) == c }
        }
        var rng = RandomGenerator(seed: batch.seed)
        rng.shuffle(&positions)
        return (cache, Array(positions.prefix(batch.size)))
    }

    /// The batch's report (reward and gates included) and the protocol's answer with one record
    /// per question.
    public func evaluate(_ request: EvaluatorProtocol.Request) throws -> (report: BatchReport, response: EvaluatorProtocol.Response) {
        let (configuration, settings) = try self.settings(request.configuration)
        let (cache, positions) = try draw(request)
        let workspace = cache.makeWorkspace()
        let outcomes = try positions.map { try cache.outcome(at: $0, configuration: settings, workspace: workspace) }
        let categories = positions.map { cache.categoryIndex(at: $0) }
        let report = BatchReport(
            configuration: settings, outcomes: outcomes, categories: categories, categoryNames: cache.categories, reward: setup.reward)
        let queries = zip(positions, outcomes).map { position, o in
            EvaluatorProtocol.QueryResult(
                id: setup.dataset.queries[cache.queries[position]].id, category: cache.categories[cache.categoryIndex(at: position)],
                faithfulness: o.faithfulness, relevancy: o.relevancy, latencyMilliseconds: o.latencyMilliseconds, costUSD: o.costUSD,
                error: o.failed, violation: o.violation)
        }
        return (report, EvaluatorProtocol.Response(
            configuration: configuration, overall: .init(report.overall), perCategory: report.perCategory.mapValues { .init($0) },
            queries: queries))
    }
}

extension EvaluatorProtocol.Metrics {
    public init(_ m: MetricsSummary) {
        self.init(n: m.n, faithfulness: m.faithfulness, relevancy: m.relevancy, latencyP50Milliseconds: m.latencyP50Milliseconds,
                  latencyP95Milliseconds: m.latencyP95Milliseconds, costUSD: m.costUSD, errorRate: m.errorRate,
                  violationRate: m.violationRate, qualitySpread: m.qualitySpread)
    }

    /// The reward and gate verdicts of these metrics under `function`.
    public func reward(_ function: RewardFunction) -> RewardBreakdown {
        function.evaluate(BatchMeasurement(
            faithfulness: faithfulness, relevancy: relevancy, latencyP95Milliseconds: latencyP95Milliseconds, costUSD: costUSD,
            errorRate: errorRate, violationRate: violationRate ?? 0, qualitySpread: qualitySpread ?? 0))
    }
}
