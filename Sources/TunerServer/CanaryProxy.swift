import Evaluators
import Foundation
import HTTPTypes
import Hummingbird
import NumericCore
import TunerPolicy

/// `tuner canary`: a proxy in front of production's `POST /query` that routes each request by
/// the controller's sticky ``TrafficSplit`` (key: the `X-User-ID` header, else the request id),
/// has the arm's policy (a network or a configuration table) choose the configuration, and
/// forwards the request with it (`X-RAG-Configuration`) — to production, or for the candidate arm
/// to `candidateService` when it runs elsewhere. Without a baseline policy the baseline arm is
/// production as it runs, asked with no configuration. Every answer feeds the
/// ``CanaryController``; a rollback freezes the candidate (all traffic on the baseline from the
/// next request on) and writes an incident record.
public final class CanaryProxy: Sendable {
    public let production: URL
    public let candidateService: URL
    public let controller: CanaryController
    /// What chooses the baseline arm's configuration; nil: production's own choice.
    public let baseline: ServedPolicy?
    public let candidate: ServedPolicy
    public let incidents: URL?
    let signals: [TrafficSplit.Arm: RollingSignals] = [.baseline: RollingSignals(), .candidate: RollingSignals()]
    let corpusDocuments: Int
    private let upstream: QueryUpstream
    private let onEvaluation: @Sendable (CanaryController.Evaluation) -> Void
    public let metrics = ServerMetrics()

    public static let armHeader = HTTPField.Name("X-Canary-Arm")!

    /// What a rollback leaves behind: what happened, when, the window's metrics and the decision.
    public struct Incident: Sendable, Codable {
        public var time: String
        public var what: String
        public var step: Double
        public var evaluation: CanaryController.Evaluation
        public var decision: String
        /// The baseline policy's version, or "production" where production chose its own.
        public var baselineVersion: String
        public var candidateVersion: String
    }

    public init(production: URL, candidateService: URL? = nil, baseline: ServedPolicy?, candidate: ServedPolicy, controller: CanaryController, incidents: URL? = nil,
                corpusDocuments: Int, timeout: TimeInterval = 30,
                onEvaluation: @escaping @Sendable (CanaryController.Evaluation) -> Void = { _ in }) {
        self.production = production
        self.candidateService = candidateService ?? production
        self.controller = controller
        self.baseline = baseline
        self.candidate = candidate
        self.incidents = incidents
        self.corpusDocuments = corpusDocuments
        self.onEvaluation = onEvaluation
        upstream = QueryUpstream(timeout: timeout)
    }

    /// Serves one `/query` body; returns production's (or the candidate service's) status and body, and the arm.
    func serve(_ body: Data, key: String, requestID: String) async -> (status: Int, body: Data, arm: TrafficSplit.Arm) {
        let query = try? JSONDecoder().decode(TunerServer.Query.self, from: body)
        let arm = controller.split.arm(for: key)
        let context = signals[arm]!.context(category: query?.category ?? "default", corpusDocuments: corpusDocuments)
        let decided = (arm == .candidate ? candidate : baseline)?.decide(context)
        let clock = ContinuousClock()
        let start = clock.now
        let (status, reply) = await (try? upstream.query(body, at: arm == .candidate ? candidateService : production, requestID: requestID,
                                                   configuration: decided?.configuration))
            ?? (502, Data(#"{"error":{"message":"upstream unreachable"}}"#.utf8))
        let elapsed = clock.now - start
        let wall = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) * 1e-15
        let observation: ShadowComparison.Observation?
        if status >= 500 {
            observation = .init(faithfulness: 0, relevancy: 0, latencyMilliseconds: wall, costUSD: 0, failed: true)
        } else if status == 200, let answer = try? JSONDecoder().decode(ServiceAnswer.self, from: reply),
                  let judged = answer.observation(waitedMilliseconds: wall) {
            observation = judged
            signals[arm]!.served(decided?.settings, latencyMilliseconds: judged.latencyMilliseconds, costUSD: judged.costUSD)
            signals[arm]!.feedback((judged.faithfulness + judged.relevancy) / 2)
        } else {
            observation = nil
        }
        if status < 400 || status >= 500, let evaluation = controller.record(arm: arm, observation: observation) {
            metrics.recordCanary(evaluation)
            onEvaluation(evaluation)
            if case let .rollback(reason) = evaluation.action { writeIncident(reason, evaluation) }
        }
        return (status, reply, arm)
    }

    private func writeIncident(_ reason: String, _ evaluation: CanaryController.Evaluation) {
        guard let incidents else { return }
        let now = Date()
        let incident = Incident(
            time: now.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)), what: reason, step: evaluation.step,
            evaluation: evaluation, decision: "rolled back: candidate frozen, all traffic on the baseline",
            baselineVersion: baseline?.version ?? "production", candidateVersion: candidate.version)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let file = incidents.appendingPathComponent("incident-\(Int(now.timeIntervalSince1970 * 1000)).json")
        try? FileManager.default.createDirectory(at: incidents, withIntermediateDirectories: true)
        if let data = try? encoder.encode(incident) { try? AtomicFile.write(data, to: file) }
    }

    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: MetricsMiddleware(metrics: metrics) { request, response in
            request.uri.path == "/query" ? response?[Self.armHeader] ?? "none" : nil
        })
        metrics.expose(on: router)
        router.get("/health") { _, _ in "ok" }
        router.post("/query") { request, context -> Response in
            let body = Data(buffer: try await request.body.collect(upTo: TunerServer.maxRequestBytes))
            let requestID = request.headers[.init("X-Request-ID")!] ?? UUID().uuidString
            let key = request.headers[.init("X-User-ID")!] ?? requestID
            let (status, reply, arm) = await self.serve(body, key: key, requestID: requestID)
            return Response(status: .init(code: status), headers: [.contentType: "application/json", Self.armHeader: arm.rawValue],
                            body: .init(byteBuffer: ByteBuffer(data: reply)))
        }
        return router
    }

    public func application(host: String = "127.0.0.1", port: Int, idleTimeoutSeconds: Double = defaultIdleTimeoutSeconds,
                            onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        serverApplication(router(), name: "tuner-canary", host: host, port: port, idleTimeoutSeconds: idleTimeoutSeconds, onRunning: onRunning)
    }
}
