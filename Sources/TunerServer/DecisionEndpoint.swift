import Foundation
import Hummingbird
import TunerPolicy

/// `POST /decide` and `POST /outcome`: the policy's decisions over HTTP for services not written
/// in Swift. The service sends the request's category and its recent signals; the answer is the
/// configuration to use, its probability and a decision id, logged (with `--decision-log`) as the
/// Swift module logs it, so off-policy evaluation and the loop read both alike. The outcome,
/// reported later under the decision id, joins the decision in the log.
extension TunerServer {
    /// A ``PolicyContext`` as its JSON, and optionally a `seed` to draw from the policy with
    /// (exploration) instead of taking its mode.
    public struct DecideRequest: Decodable, Sendable {
        /// The context with the default settings as `current`: which settings are in force is
        /// `current`, checked against the knobs of what decides.
        public var context: PolicyContext
        public var current: Configuration?
        public var seed: UInt64?

        enum CodingKeys: String, CodingKey { case seed, current }

        public init(from decoder: any Decoder) throws {
            context = try PolicyContext(signals: decoder, current: RAGSettings())
            let c = try decoder.container(keyedBy: CodingKeys.self)
            seed = try c.decodeIfPresent(UInt64.self, forKey: .seed)
            current = try c.decodeIfPresent(Configuration.self, forKey: .current)
        }

        /// What is wrong with the context, naming the field.
        func validate() throws {
            let x = context
            guard !x.category.isEmpty, x.category.utf8.count <= 200 else { throw HTTPError(.badRequest, message: "field 'category' must hold 1 to 200 bytes") }
            for (field, value, range) in [("faithfulness", x.faithfulness, 0.0...1.0), ("relevancy", x.relevancy, 0...1),
                                          ("latency_p50_ms", x.latencyP50Milliseconds, 0...3_600_000), ("latency_p95_ms", x.latencyP95Milliseconds, 0...3_600_000),
                                          ("cost_usd", x.costUSD, 0...1_000), ("corpus_age_days", x.corpusAgeDays ?? 0, 0...365_000)]
                where !(value.isFinite && range.contains(value)) {
                throw HTTPError(.badRequest, message: "field '\(field)' is \(value), expected a number in \(range.lowerBound)...\(range.upperBound)")
            }
            guard (1...1_000_000_000_000).contains(x.corpusDocuments) else {
                throw HTTPError(.badRequest, message: "field 'corpus_documents' is \(x.corpusDocuments), expected 1 or more")
            }
        }
    }

    public struct DecideResponse: ResponseCodable, Sendable {
        public var decisionID: String
        public var configuration: Configuration
        public var probability: Double
        public var policyVersion: String

        enum CodingKeys: String, CodingKey {
            case configuration, probability
            case decisionID = "decision_id", policyVersion = "policy_version"
        }
    }

    public struct OutcomeRequest: Codable, Sendable {
        public var decisionID: String
        public var outcome: DecisionOutcome

        enum CodingKeys: String, CodingKey {
            case outcome
            case decisionID = "decision_id"
        }
    }

    /// Decides for `request` with the policy serving now and logs the decision.
    func decide(_ request: DecideRequest, policy: PolicyHandle) throws -> DecideResponse {
        try request.validate()
        var context = request.context
        if let current = request.current {
            do {
                context.current = try RAGSettings(current)
                try evaluator?.validate(context.current)
            } catch { throw HTTPError(.badRequest, message: "field 'current': \(error)") }
        }
        let served = policy.current
        let decision = served.decide(context, mode: request.seed.map { .sampled(seed: $0) } ?? .deterministic)
        let id = UUID().uuidString
        try log?.append(decision, requestID: id, context: context, policy: served, sampled: request.seed != nil)
        return DecideResponse(decisionID: id, configuration: decision.settings.configuration, probability: decision.probability, policyVersion: served.version)
    }

    /// Decides for `request` from the table serving now: its category's configuration, served
    /// with probability 1 (a seed draws nothing), and logs the decision.
    func decide(_ request: DecideRequest, table: ServedHandle<ConfigurationTable>) throws -> DecideResponse {
        try request.validate()
        let served = table.current
        if let current = request.current, let problem = served.knobs.problem(in: current) {
            throw HTTPError(.badRequest, message: "field 'current': \(problem)")
        }
        let configuration = served.decide(category: request.context.category)
        let id = UUID().uuidString
        try log?.append(DecisionLogEntry(configuration: configuration, version: served.version, requestID: id, category: request.context.category, question: nil))
        return DecideResponse(decisionID: id, configuration: configuration, probability: 1, policyVersion: served.version)
    }

    /// Logs a decision's outcome; every reported number must be finite and in its range.
    func record(_ request: OutcomeRequest) throws {
        let o = request.outcome
        guard !request.decisionID.isEmpty, request.decisionID.utf8.count <= 200 else { throw HTTPError(.badRequest, message: "field 'decision_id' must hold 1 to 200 bytes") }
        for (field, value, range) in [("latency_ms", o.latencyMilliseconds, 0.0...3_600_000), ("cost_usd", o.costUSD, 0...1_000),
                                      ("faithfulness", o.faithfulness, 0...1), ("relevancy", o.relevancy, 0...1), ("feedback", o.feedback, 0...1),
                                      ("reward", o.reward, -1_000...1_000)] {
            if let value, !(value.isFinite && range.contains(value)) {
                throw HTTPError(.badRequest, message: "field 'outcome.\(field)' is \(value), expected a number in \(range.lowerBound)...\(range.upperBound)")
            }
        }
        guard let log else { throw HTTPError(.conflict, message: "the server keeps no decision log (start it with --decision-log)") }
        try log.append(outcome: o, requestID: request.decisionID)
    }
}

extension Router<TunerRequestContext> {
    /// `POST /decide`, and `POST /outcome` behind ``AdminAccess`` (it writes the log).
    func addDecisions(_ server: TunerServer, decide: @escaping @Sendable (TunerServer.DecideRequest) throws -> TunerServer.DecideResponse) {
        post("/decide") { request, context -> TunerServer.DecideResponse in
            try decide(try await TunerServer.decode(TunerServer.DecideRequest.self, request, context))
        }
        group("outcome").add(middleware: AdminAccess<TunerRequestContext>(token: server.accessToken)).post { request, context -> HTTPResponse.Status in
            try server.record(try await TunerServer.decode(TunerServer.OutcomeRequest.self, request, context))
            return .noContent
        }
    }
}
