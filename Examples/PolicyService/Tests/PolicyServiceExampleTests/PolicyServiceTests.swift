import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import NumericCore
import Pipeline
import PolicyServiceExample
import Retrieval
import ServiceLifecycle
import Testing
import TunerPolicy
import Tuning

/// The example service on 127.0.0.1, asked over real HTTP: it answers from the demo corpus with
/// the settings its policy chose, keeps users on their canary arm, and logs decisions and
/// outcomes that the tuner's log reader joins.
@Suite struct PolicyServiceTests {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    @Test func answersOnLoopbackAndLogsEveryDecision() async throws {
        BLAS.setThreads(1)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("policy-service-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let dataset = try DatasetLoader(folder: Self.repository.appendingPathComponent("datasets/demo")).load()
        let system = try RetrievalSystem(dataset: dataset)
        let baseline = try DecisionBenchmark.defaultPolicy(seed: 1)
        let candidate = try DecisionBenchmark.defaultPolicy(seed: 2)
        let router = try CanaryRouter(baseline: PolicyHandle(baseline), candidate: PolicyHandle(candidate), percentage: 50)
        let logURL = folder.appendingPathComponent("decisions.jsonl")
        let token = "feedback-token-0123456789"
        let service = PolicyService(pipeline: RAGPipeline(system: system), router: router, log: try DecisionLogWriter(url: logURL),
                                    accessToken: try AccessToken(token))

        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        try await withThrowingTaskGroup(of: Void.self) { group in
            let app = service.application(port: 0) { portSink.yield($0) }
            let server = ServiceGroup(configuration: .init(services: [app], logger: app.logger))
            group.addTask { try await server.run() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            let base = URL(string: "http://127.0.0.1:\(port)")!

            let (health, healthStatus) = try await Self.call(base.appendingPathComponent("health"), body: nil)
            #expect(healthStatus == 200 && String(decoding: health, as: UTF8.self) == "ok")

            var answers: [PolicyService.Answer] = []
            let questions = dataset.queries.prefix(12)
            for (i, query) in questions.enumerated() {
                let ask = PolicyService.Ask(question: query.text, category: query.category ?? "overview", user: "user-\(i % 4)")
                let (data, status) = try await Self.call(base.appendingPathComponent("ask"), body: try JSONEncoder().encode(ask))
                #expect(status == 200)
                let answer = try JSONDecoder().decode(PolicyService.Answer.self, from: data)
                #expect(!answer.answer.isEmpty && answer.passages.count == answer.configuration.k)
                #expect(answer.passages.allSatisfy { id in dataset.documents.contains { $0.id == id } })
                #expect(answer.arm == router.split.arm(for: "user-\(i % 4)"))
                #expect(answer.policyVersion == (answer.arm == .candidate ? candidate.version : baseline.version))
                answers.append(answer)
            }
            #expect(Set(answers.map(\.arm)) == [.baseline, .candidate])

            let feedback = try JSONSerialization.data(withJSONObject: ["request_id": answers[0].requestID, "score": 1])
            // Feedback writes to the decision log: refused (and not logged) without the token.
            #expect(try await Self.call(base.appendingPathComponent("feedback"), body: feedback).status == 401)
            #expect(try await Self.call(base.appendingPathComponent("feedback"), body: feedback, token: "feedback-token-0123456788").status == 401)
            #expect(try await Self.call(base.appendingPathComponent("feedback"), body: feedback, token: token).status == 204)
            let bad = try JSONSerialization.data(withJSONObject: ["request_id": answers[0].requestID, "score": 3])
            #expect(try await Self.call(base.appendingPathComponent("feedback"), body: bad, token: token).status == 400)
            let empty = try JSONEncoder().encode(PolicyService.Ask(question: "  ", category: "overview"))
            #expect(try await Self.call(base.appendingPathComponent("ask"), body: empty).status == 400)
            await server.triggerGracefulShutdown()
        }

        // Every decision is in the log with the probability the service returned, and the
        // tuner's reader joins it with its outcome.
        let lines = try String(contentsOf: logURL, encoding: .utf8).split(separator: "\n")
        let entries = try lines.map { try JSONDecoder().decode(DecisionLogEntry.self, from: Data($0.utf8)) }
        let decisions = entries.filter { $0.event == .decision }
        #expect(decisions.count == 12 && entries.filter { $0.event == .outcome }.count == 13)
        for entry in decisions {
            let policy = entry.policyVersion == baseline.version ? baseline : candidate
            let x = try #require(entry.context)
            let redecided = x.withUnsafeBufferPointer { policy.decide(features: $0) }
            #expect(entry.action == redecided.storedAction && abs(entry.propensity! - redecided.probability) < 1e-9 * redecided.probability)
        }
        let read = try DecisionLog.read(logURL)
        #expect(read.decisionCount == 12 && read.badLines.isEmpty && read.orphanOutcomes == 0)
    }

    static func call(_ url: URL, body: Data?, token: String? = nil) async throws -> (data: Data, status: Int) {
        var request = URLRequest(url: url, timeoutInterval: 120)
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpMethod = "POST"
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        return (data, (response as! HTTPURLResponse).statusCode)
    }
}
