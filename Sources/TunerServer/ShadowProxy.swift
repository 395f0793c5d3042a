import Evaluators
import Foundation
import HTTPTypes
import Hummingbird
import Synchronization
import TunerPolicy

/// `tuner shadow`: a reverse proxy in front of production's `POST /query`. Every request is
/// forwarded to production and production's response is returned as it came; afterwards, off the
/// response path, the query goes into a bounded queue from which the candidate side asks the
/// candidate policy (a network or a configuration table) for a configuration, has the candidate
/// service answer with it (`X-RAG-Configuration`), and hands both answers to a ``ShadowComparison``. A full queue drops
/// the mirrored query and counts it; a failing or dead candidate side only stops the comparison.
public final class ShadowProxy: Sendable {
    public let production: URL
    public let candidateService: URL
    public let candidate: ServedPolicy
    public let comparison: ShadowComparison
    public let queueCapacity: Int
    /// What `POST /admin/reload` (the candidate's checkpoint) requires; without one it is off.
    let accessToken: AccessToken?
    let candidateSignals = RollingSignals()
    let corpusDocuments: Int
    private let upstream: QueryUpstream
    private let queue: Mutex<[Job]>
    private let wake: AsyncStream<Void>.Continuation
    private let wakes: AsyncStream<Void>
    private let tally = Mutex(Counters())
    public let metrics = ServerMetrics()

    struct Job: Sendable {
        var query: TunerServer.Query
        var productionConfiguration: Configuration
        var production: ShadowComparison.Observation
    }

    /// One compared pair, kept for audit (the most recent `pairsKept`).
    public struct Pair: Sendable, Codable, Equatable {
        public var question: String
        public var category: String?
        public var productionConfiguration: Configuration
        public var candidateConfiguration: Configuration
        public var production: ShadowComparison.Observation
        public var candidate: ShadowComparison.Observation
    }
    public static let pairsKept = 10_000
    private let recentPairs = Mutex<[Pair]>([])
    public var pairs: [Pair] { recentPairs.withLock { $0 } }

    public struct Counters: Sendable, Codable, Equatable {
        public var forwarded = 0
        public var productionErrors = 0
        public var mirrored = 0
        public var dropped = 0
        public var unjudged = 0
        public var candidateErrors = 0
        /// Why the candidate side last failed.
        public var lastCandidateError: String?
        public var compared = 0
    }

    public init(production: URL, candidateService: URL? = nil, candidate: ServedPolicy, comparison: ShadowComparison,
                queueCapacity: Int = 256, corpusDocuments: Int, timeout: TimeInterval = 30, accessToken: AccessToken? = nil) {
        self.production = production
        self.candidateService = candidateService ?? production
        self.candidate = candidate
        self.comparison = comparison
        self.queueCapacity = queueCapacity
        self.corpusDocuments = corpusDocuments
        self.accessToken = accessToken
        upstream = QueryUpstream(timeout: timeout)
        queue = Mutex([])
        (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    public var counters: Counters { tally.withLock { $0 } }

    /// Forwards one `/query` body to production and returns its status and body unchanged.
    func forward(_ body: Data, requestID: String?) async -> (status: Int, body: Data) {
        do {
            let (status, data) = try await upstream.query(body, at: production, requestID: requestID)
            tally.withLock { c in
                c.forwarded += 1
                if status >= 500 { c.productionErrors += 1 }
            }
            return (status, data)
        } catch {
            tally.withLock { c in
                c.forwarded += 1
                c.productionErrors += 1
            }
            return (502, Data(#"{"error":{"message":"production unreachable"}}"#.utf8))
        }
    }

    /// Queues the pair's candidate half; never waits.
    func mirror(_ body: Data, productionStatus: Int, productionBody: Data) {
        guard productionStatus == 200, let query = try? JSONDecoder().decode(TunerServer.Query.self, from: body) else { return }
        guard let answer = try? JSONDecoder().decode(ServiceAnswer.self, from: productionBody), let observation = answer.observation() else {
            tally.withLock { $0.unjudged += 1 }
            metrics.recordMirror("unjudged")
            return
        }
        let queued = queue.withLock { jobs -> Bool in
            guard jobs.count < queueCapacity else { return false }
            jobs.append(Job(query: query, productionConfiguration: answer.configuration, production: observation))
            return true
        }
        tally.withLock { c in if queued { c.mirrored += 1 } else { c.dropped += 1 } }
        metrics.recordMirror(queued ? "queued" : "dropped")
        if queued { wake.yield() } else { comparison.recordDrop() }
    }

    /// The candidate side: runs until cancelled, one mirrored query at a time.
    public func runCandidate() async {
        for await _ in wakes {
            while let job = queue.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) {
                if Task.isCancelled { return }
                await runCandidate(job)
            }
        }
    }

    private func runCandidate(_ job: Job) async {
        let context = candidateSignals.context(category: job.query.category ?? "default", corpusDocuments: corpusDocuments)
        let (configuration, settings) = candidate.decide(context)
        let body = (try? JSONEncoder().encode(job.query)) ?? Data()
        let observation: ShadowComparison.Observation
        do {
            observation = try await candidateObservation(body, configuration: configuration)
        } catch {
            tally.withLock { c in
                c.candidateErrors += 1
                c.lastCandidateError = "\(error)"
            }
            metrics.recordCandidate(failed: true)
            return
        }
        candidateSignals.served(settings, latencyMilliseconds: observation.latencyMilliseconds, costUSD: observation.costUSD)
        candidateSignals.feedback((observation.faithfulness + observation.relevancy) / 2)
        if let window = comparison.add(production: job.production, candidate: observation) { metrics.recordShadowWindow(window) }
        metrics.recordCandidate(failed: false)
        recentPairs.withLock { pairs in
            if pairs.count == Self.pairsKept { pairs.removeFirst() }
            pairs.append(Pair(question: job.query.question, category: job.query.category, productionConfiguration: job.productionConfiguration,
                              candidateConfiguration: configuration, production: job.production, candidate: observation))
        }
        tally.withLock { $0.compared += 1 }
    }

    struct CandidateFailure: Error, CustomStringConvertible {
        let description: String
    }

    /// The candidate service's judged answer to the query with `configuration`, or why there is none.
    private func candidateObservation(_ body: Data, configuration: Configuration) async throws -> ShadowComparison.Observation {
        let status: Int, data: Data
        do {
            (status, data) = try await upstream.query(body, at: candidateService, requestID: nil, configuration: configuration)
        } catch {
            throw CandidateFailure(description: "candidate service unreachable: \(error.localizedDescription)")
        }
        guard status == 200 else {
            throw CandidateFailure(description: "candidate service answered HTTP \(status): \(String(decoding: data.prefix(200), as: UTF8.self))")
        }
        let answer: ServiceAnswer
        do {
            answer = try JSONDecoder().decode(ServiceAnswer.self, from: data)
        } catch let error as DecodingError {
            throw CandidateFailure(description: "candidate service's answer is not a /query answer: \(TunerServer.describe(error))")
        }
        guard let observation = answer.observation() else { throw CandidateFailure(description: "candidate service's answer carries no judgement") }
        return observation
    }

    /// What `GET /shadow/status` answers: the counters and the windows judged so far, so a
    /// failing candidate shows long before the verdict.
    public struct Status: Encodable, Sendable, ResponseGenerator {
        public var counters: Counters
        public var windows: [ShadowComparison.Window]
        public var candidateVersion: String

        public func response(from request: Request, context: some RequestContext) throws -> Response {
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = .sortedKeys
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: try encoder.encode(self))))
        }
    }

    public var status: Status { Status(counters: counters, windows: comparison.windows, candidateVersion: candidate.version) }

    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: MetricsMiddleware(metrics: metrics) { request, _ in request.uri.path == "/query" ? "production" : nil })
        metrics.expose(on: router)
        router.get("/health") { _, _ in "ok" }
        router.get("/shadow/status") { _, _ in self.status }
        router.addReload(candidate, token: accessToken)
        router.post("/query") { request, context -> Response in
            let body = Data(buffer: try await request.body.collect(upTo: TunerServer.maxRequestBytes))
            let (status, reply) = await self.forward(body, requestID: request.headers[.init("X-Request-ID")!])
            self.mirror(body, productionStatus: status, productionBody: reply)
            return Response(status: .init(code: status), headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(data: reply)))
        }
        return router
    }

    public func application(host: String = "127.0.0.1", port: Int, idleTimeoutSeconds: Double = defaultIdleTimeoutSeconds,
                            onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        serverApplication(router(), name: "tuner-shadow", host: host, port: port, idleTimeoutSeconds: idleTimeoutSeconds, onRunning: onRunning)
    }
}
