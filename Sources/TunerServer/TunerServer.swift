import Evaluators
import Foundation
import HTTPTypes
import Hummingbird
import NumericCore
import Pipeline
import Scoring
import TunerPolicy

/// `tuner serve`: the evaluator protocol over the built-in pipeline, a reference RAG endpoint
/// that plays "production" in tests and demos, Prometheus metrics and a health check. The API is
/// documented in docs/openapi.yaml, which a test checks against the running server.
///
/// Without an evaluator it serves only a configuration table's decisions (`/decide`,
/// `/outcome`, reload, health, metrics): the table is for a service with knobs of its own, which
/// needs no dataset of the built-in pipeline here.
public final class TunerServer: Sendable {
    /// The built-in pipeline over a dataset: `/tuner/evaluate`, `/tuner/evaluator` and `/query`.
    public let evaluator: LocalEvaluator?
    public let pipeline: RAGPipeline?
    /// The policy `/query` asks; without one it serves the production configuration's version
    /// when given one, else the policy configuration's default settings.
    public let policy: PolicyHandle?
    /// The configuration table `POST /decide` answers from, for a service with knobs of its own;
    /// `/query` then serves the default settings.
    public let table: ServedHandle<ConfigurationTable>?
    public let versions: ServedVersions?
    public let log: DecisionLogWriter?
    /// What `POST /admin/reload` requires; without one the endpoint is off.
    let accessToken: AccessToken?
    public let metrics = ServerMetrics()
    /// Waited per evaluated question before `/tuner/evaluate` answers, as an LLM-backed service
    /// would take: makes the slow case testable on loopback. Not added to the reported latency,
    /// so the tuning problem stays the same.
    public let addedMillisecondsPerQuery: Double
    let signals = RollingSignals()
    /// Judged dataset questions by their text: `/query` scores answers to these with the gold judge.
    let judgedQuestions: [String: Int]
    /// Largest request body accepted (bigger ones get 413).
    public static let maxRequestBytes = 256 * 1024
    /// Settings for one `/query` request, instead of the policy's choice.
    public static let configurationHeader = HTTPField.Name("X-RAG-Configuration")!

    public init(evaluator: LocalEvaluator?, policy: PolicyHandle?, table: ServedHandle<ConfigurationTable>? = nil, versions: ServedVersions? = nil,
                log: DecisionLogWriter? = nil, addedMillisecondsPerQuery: Double = 0, accessToken: AccessToken? = nil) {
        precondition(policy == nil || versions == nil, "/query's settings come from a policy or from versions, not both")
        precondition(policy == nil || table == nil, "/decide answers from a policy or from a table, not both")
        precondition(evaluator != nil || (policy == nil && versions == nil), "a policy or versions choose the pipeline's settings: they need its evaluator")
        self.table = table
        self.evaluator = evaluator
        self.addedMillisecondsPerQuery = addedMillisecondsPerQuery
        pipeline = evaluator.map { RAGPipeline(system: $0.system) }
        self.policy = policy
        self.versions = versions
        self.log = log
        self.accessToken = accessToken
        var judged: [String: Int] = [:]
        if let system = evaluator?.system {
            for (q, query) in system.dataset.queries.enumerated() where !system.grades[q].isEmpty {
                judged[query.text] = judged[query.text] ?? q
            }
        }
        judgedQuestions = judged
    }

    public struct Query: Codable, Sendable {
        public var question: String
        public var category: String?
        public init(question: String, category: String? = nil) {
            self.question = question
            self.category = category
        }
    }

    public struct Answer: ResponseCodable, Sendable {
        public var requestID: String
        public var answer: String
        public var passages: [String]
        public var configuration: RAGSettings
        /// "policy", "version" (the production configuration's), "override" (the header) or "default".
        public var source: String
        public var policyVersion: String?
        public var probability: Double?
        public var latencyMilliseconds: Double
        public var costUSD: Double
        /// Present when the question is a judged question of the dataset: the gold judge's scores.
        public var judgement: Judgement?

        enum CodingKeys: String, CodingKey {
            case answer, passages, configuration, source, probability, judgement
            case requestID = "request_id"
            case policyVersion = "policy_version"
            case latencyMilliseconds = "latency_ms"
            case costUSD = "cost_usd"
        }
    }

    public struct Judgement: Codable, Sendable, Equatable {
        public var judge: String
        public var faithfulness: Double
        public var relevancy: Double
    }

    struct Health: ResponseEncodable {
        var status: String
        /// Absent on a server that serves only a table's decisions.
        var dataset: String?
        var policyVersion: String?
        enum CodingKeys: String, CodingKey {
            case status, dataset
            case policyVersion = "policy_version"
        }
    }

    func evaluate(_ request: EvaluatorProtocol.Request, with evaluator: LocalEvaluator) async throws -> EvaluatorProtocol.Response {
        let answer: (report: BatchReport, response: EvaluatorProtocol.Response)
        do {
            answer = try evaluator.evaluate(request)
        } catch let failure as LocalEvaluator.Failure {
            // A configuration the knobs refuse is well-formed JSON that cannot be applied.
            if case .configuration = failure { throw HTTPError(.unprocessableContent, message: failure.description) }
            throw HTTPError(.badRequest, message: failure.description)
        }
        let reward = answer.report.overall.reward
        metrics.recordEvaluation(reward: reward.reward, gatesPassed: reward.gatesPassed, breaches: reward.gates.filter { !$0.passed }.map(\.name),
                                 queries: answer.report.overall.n)
        if addedMillisecondsPerQuery > 0 {
            try await Task.sleep(for: .milliseconds(addedMillisecondsPerQuery * Double(answer.report.overall.n)))
        }
        return answer.response
    }

    /// Answers `query` with `pipeline`, with `override` settings when given (already validated).
    func answer(_ query: Query, override: RAGSettings?, requestID: String, pipeline: RAGPipeline) async throws -> Answer {
        let category = query.category ?? "default"
        let context = signals.context(category: category, corpusDocuments: pipeline.system.dataset.documents.count)
        var settings = override ?? RAGSettings()
        var source = override == nil ? "default" : "override"
        var decided: (Decision, RAGPolicy)?
        var routed: ServedVersions.Routed?
        if override == nil, let policy {
            let current = policy.current
            let decision = current.decide(context)
            settings = decision.settings
            source = "policy"
            decided = (decision, current)
        } else if override == nil, let versions {
            let route = try versions.route(category: category, key: requestID)
            settings = route.settings
            source = "version"
            routed = route
        }
        if pipeline.system.reranker == nil { settings.rerank = false }
        let response: RAGPipeline.Response
        var judgement: Judgement?
        if let q = judgedQuestions[query.question] {
            let run = try pipeline.run(query: q, configuration: settings)
            let judge = GoldJudge()
            let scores = try await judge.score([run.judgeRequest])[0]
            response = run.response
            judgement = Judgement(judge: judge.name, faithfulness: scores.faithfulness, relevancy: scores.relevancy)
        } else {
            response = try pipeline.respond(to: query.question, configuration: settings)
        }
        let (latency, cost) = pipeline.latencyAndCost(response)
        signals.served(settings, latencyMilliseconds: latency, costUSD: cost)
        if let log, decided != nil || routed != nil {
            if let (decision, policy) = decided {
                try log.append(decision, requestID: requestID, context: context, policy: policy, question: query.question)
            } else if let routed {
                try log.append(DecisionLogEntry(configuration: settings.configuration, version: routed.version, requestID: requestID, category: category,
                                                question: query.question, arm: routed.arm))
            }
            try log.append(outcome: DecisionOutcome(latencyMilliseconds: latency, costUSD: cost, faithfulness: judgement?.faithfulness,
                                                    relevancy: judgement?.relevancy, error: response.answer == nil), requestID: requestID)
        }
        return Answer(
            requestID: requestID, answer: response.answerText,
            passages: response.ranking.map { pipeline.system.dataset.documents[Int($0)].id }, configuration: settings, source: source,
            policyVersion: decided?.0.policyVersion ?? routed?.version, probability: decided?.0.probability ?? routed.map { _ in 1 }, latencyMilliseconds: latency, costUSD: cost,
            judgement: judgement)
    }

    /// The settings in the override header, validated against the action bounds.
    func override(_ request: Request, evaluator: LocalEvaluator) throws -> RAGSettings? {
        guard let header = request.headers[Self.configurationHeader] else { return nil }
        let settings: RAGSettings
        do {
            settings = try JSONDecoder().decode(RAGSettings.self, from: Data(header.utf8))
        } catch {
            throw HTTPError(.badRequest, message: "\(Self.configurationHeader) is not a configuration object: \(error)")
        }
        do {
            try evaluator.validate(settings)
        } catch {
            throw HTTPError(.badRequest, message: "\(Self.configurationHeader): \(error)")
        }
        return settings
    }

    public func router() -> Router<TunerRequestContext> {
        let router = Router(context: TunerRequestContext.self)
        let queryArm = policy != nil ? "policy" : versions != nil ? "version" : "default"
        router.add(middleware: MetricsMiddleware(metrics: metrics) { request, _ in
            request.uri.path == "/query" ? (request.headers[Self.configurationHeader] == nil ? queryArm : "override") : nil
        })
        router.get("/health") { _, _ in
            Health(status: "ok", dataset: self.evaluator?.setup.dataset.manifest.id,
                   policyVersion: self.policy?.current.version ?? self.table?.current.version ?? self.versions?.productionVersion)
        }
        metrics.expose(on: router)
        if let policy {
            router.addReload(.network(policy), token: accessToken)
            router.addDecisions(self) { try self.decide($0, policy: policy) }
        }
        if let table {
            router.addReload(.table(table), token: accessToken)
            router.addDecisions(self) { try self.decide($0, table: table) }
        }
        guard let evaluator, let pipeline else { return router }
        router.get("/tuner/evaluator") { _, _ in evaluator.description }
        router.post("/tuner/evaluate") { request, context -> EvaluatorProtocol.Response in
            let body = try await Self.decode(EvaluatorProtocol.Request.self, request, context)
            return try await self.evaluate(body, with: evaluator)
        }
        router.post("/query") { request, context -> Answer in
            let query = try await Self.decode(Query.self, request, context)
            guard !query.question.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw HTTPError(.badRequest, message: "question is empty")
            }
            let override = try self.override(request, evaluator: evaluator)
            let id = request.headers[.init("X-Request-ID")!] ?? UUID().uuidString
            do {
                return try await self.answer(query, override: override, requestID: id, pipeline: pipeline)
            } catch let error as RetrievalSystem.QuestionError {
                throw HTTPError(.unprocessableContent, message: error.description)
            }
        }
        return router
    }

    /// Decodes a JSON body; a body that is not the expected object is a 400 naming the field.
    /// Decoded here rather than by the request's decoder, which reports every mismatch — a k of
    /// 5.5, a seed of −1 — as "not valid JSON".
    static func decode<T: Decodable>(_ type: T.Type, _ request: Request, _ context: TunerRequestContext) async throws -> T {
        let body = try await request.body.collect(upTo: context.maxUploadSize)
        do {
            return try JSONDecoder().decode(type, from: body)
        } catch let error as DecodingError {
            throw HTTPError(.badRequest, message: Self.describe(error))
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [CodingKey]) -> String { keys.map(\.stringValue).joined(separator: ".") }
        switch error {
        case let .keyNotFound(key, context): return "missing field '\(path(context.codingPath + [key]))'"
        case let .typeMismatch(_, context), let .valueNotFound(_, context): return "field '\(path(context.codingPath))': \(context.debugDescription)"
        case let .dataCorrupted(context):
            return context.codingPath.isEmpty ? "body is not valid JSON" : "field '\(path(context.codingPath))': \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }

    /// The application on `host:port` (port 0 picks a free one, reported to `onRunning`); a
    /// connection idle for `idleTimeoutSeconds` is closed.
    public func application(host: String = "127.0.0.1", port: Int = 8080, idleTimeoutSeconds: Double = defaultIdleTimeoutSeconds,
                            onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        serverApplication(router(), name: "tuner-serve", host: host, port: port, idleTimeoutSeconds: idleTimeoutSeconds, onRunning: onRunning)
    }
}

/// The request context of `tuner serve`: Hummingbird's basic context with a smaller body limit.
public struct TunerRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public init(source: Source) { coreContext = .init(source: source) }
    public var maxUploadSize: Int { TunerServer.maxRequestBytes }
}

extension EvaluatorProtocol.Response: ResponseEncodable {}
extension EvaluatorProtocol.Description: ResponseEncodable {}
