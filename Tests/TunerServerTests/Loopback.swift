import Evaluators
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hummingbird
import NumericCore
import Pipeline
import Retrieval
import ServiceLifecycle
import TunerPolicy
import TunerServer

/// Real servers on 127.0.0.1 for the tests, and a plain HTTP client to talk to them.
enum Loopback {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The demo dataset's evaluator, built once for all tests.
    static let evaluator: LocalEvaluator = {
        BLAS.setThreads(1)
        let setup = try! EvaluationSetup.load(
            datasetFolder: repository.appendingPathComponent("datasets/demo"), policyFile: nil, pipelineFile: nil)
        return try! LocalEvaluator(setup: setup, system: RetrievalSystem(dataset: setup.dataset, costModel: setup.costModel))
    }()

    /// Runs `app` on a free port for the duration of `body`, then shuts it down gracefully.
    static func withServer<App: ApplicationProtocol>(
        _ makeApp: (@escaping @Sendable (Int) async -> Void) -> App, _ body: (URL) async throws -> Void
    ) async throws {
        let (ports, sink) = AsyncStream.makeStream(of: Int.self)
        let group = ServiceGroupHandle(makeApp { sink.yield($0) })
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw CancellationError() }
            do {
                try await body(URL(string: "http://127.0.0.1:\(port)")!)
            } catch {
                await group.shutdown()
                throw error
            }
            await group.shutdown()
        }
    }

    struct Reply {
        var status: Int
        var body: Data
        var headers: [String: String]
        var json: Any? { try? JSONSerialization.jsonObject(with: body) }
    }

    static func request(_ url: URL, method: String = "GET", body: Data? = nil, headers: [String: String] = [:]) async throws -> Reply {
        var request = URLRequest(url: url, timeoutInterval: 120)
        request.httpMethod = method
        request.httpBody = body
        if body != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for (key, value) in http.allHeaderFields { fields["\(key)".lowercased()] = "\(value)" }
        return Reply(status: http.statusCode, body: data, headers: fields)
    }
}

/// An application run as a service group, so a test can stop it gracefully when it chooses.
struct ServiceGroupHandle: Sendable {
    let group: ServiceGroup

    init<App: ApplicationProtocol>(_ app: App) {
        group = ServiceGroup(configuration: .init(services: [app], logger: app.logger))
    }

    func run() async throws { try await group.run() }
    func shutdown() async { await group.triggerGracefulShutdown() }
}
