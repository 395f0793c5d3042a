import Foundation
import Hummingbird
import HummingbirdAuth
import Pipeline
import Retrieval
import TunerPolicy

/// A small RAG service over a dataset folder that asks a tuned policy, per request, which
/// retrieval and generation settings to use, and logs every decision and outcome for off-policy
/// evaluation. With a candidate policy it runs a canary: users are split by a hash of their id.
///
/// - `POST /ask` `{"question", "category", "user"}` → the answer, its passages, the settings used,
///   the arm, the policy version and the decision's probability, and a request id;
/// - `POST /feedback` `{"request_id", "score"}` (score in [0, 1]) → logged as the outcome; with an
///   access token it needs `Authorization: Bearer <token>` (401 without);
/// - `GET /health`.
public final class PolicyService: Sendable {
    public let pipeline: RAGPipeline
    public let router: CanaryRouter
    public let log: DecisionLogWriter
    /// What `/feedback`, which writes to the decision log, requires when set.
    let accessToken: AccessToken?
    let signals = RollingSignals()

    public init(pipeline: RAGPipeline, router: CanaryRouter, log: DecisionLogWriter, accessToken: AccessToken? = nil) {
        self.pipeline = pipeline
        self.router = router
        self.log = log
        self.accessToken = accessToken
    }

    public struct Ask: Codable, Sendable {
        public var question: String
        public var category: String
        /// Keeps a user on one canary arm; the request id is used when absent.
        public var user: String?
        public init(question: String, category: String, user: String? = nil) {
            self.question = question
            self.category = category
            self.user = user
        }
    }

    public struct Answer: ResponseCodable, Sendable {
        public var requestID: String
        public var answer: String
        public var passages: [String]
        public var configuration: RAGSettings
        public var arm: TrafficSplit.Arm
        public var policyVersion: String
        public var probability: Double
        public var latencyMilliseconds: Double
        public var costUSD: Double

        enum CodingKeys: String, CodingKey {
            case answer, passages, configuration, arm, probability
            case requestID = "request_id"
            case policyVersion = "policy_version"
            case latencyMilliseconds = "latency_ms"
            case costUSD = "cost_usd"
        }
    }

    public struct Feedback: Codable, Sendable {
        public var requestID: String
        public var score: Double
        enum CodingKeys: String, CodingKey {
            case score
            case requestID = "request_id"
        }
    }

    /// Answers one question: decide, apply, log.
    public func answer(_ ask: Ask, requestID: String = UUID().uuidString) throws -> Answer {
        let context = signals.context(category: ask.category, corpusDocuments: pipeline.system.dataset.documents.count)
        let routed = router.decide(key: ask.user ?? requestID, context: context)
        var settings = routed.decision.settings
        if pipeline.system.reranker == nil { settings.rerank = false }
        let response = try pipeline.respond(to: ask.question, configuration: settings)
        let (latency, cost) = pipeline.latencyAndCost(response)
        signals.served(settings, latencyMilliseconds: latency, costUSD: cost)
        try log.append(routed.decision, requestID: requestID, context: context, policy: routed.policy, arm: routed.arm)
        try log.append(outcome: DecisionOutcome(latencyMilliseconds: latency, costUSD: cost, error: response.answer == nil), requestID: requestID)
        return Answer(
            requestID: requestID, answer: response.answerText,
            passages: response.ranking.map { pipeline.system.dataset.documents[Int($0)].id }, configuration: settings,
            arm: routed.arm, policyVersion: routed.decision.policyVersion, probability: routed.decision.probability,
            latencyMilliseconds: latency, costUSD: cost)
    }

    public func feedback(_ feedback: Feedback) throws {
        guard (0...1).contains(feedback.score) else { throw HTTPError(.badRequest, message: "score must lie in [0, 1], got \(feedback.score)") }
        signals.feedback(feedback.score)
        try log.append(outcome: DecisionOutcome(feedback: feedback.score), requestID: feedback.requestID)
    }

    /// The HTTP application on `host:port` (port 0 picks a free one, reported to `onRunning`).
    public func application(host: String = "127.0.0.1", port: Int = 8080,
                            onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let router = Router()
        router.get("/health") { _, _ in "ok" }
        router.post("/ask") { request, context -> Answer in
            let ask = try await request.decode(as: Ask.self, context: context)
            guard !ask.question.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw HTTPError(.badRequest, message: "question is empty")
            }
            return try self.answer(ask)
        }
        router.post("/feedback") { request, context -> HTTPResponse.Status in
            if let token = self.accessToken, !token.admits(request.headers.bearer?.token) {
                throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"], message: "/feedback needs Authorization: Bearer <token>")
            }
            try self.feedback(try await request.decode(as: Feedback.self, context: context))
            return .noContent
        }
        return Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "policy-service"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) })
    }
}
