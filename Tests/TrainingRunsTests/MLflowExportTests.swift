import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import MLflow
import Reports
import Testing
import Tracking
import TunerPolicy
import TrainingRuns
#if canImport(Glibc)
import Glibc
#endif

/// A tracked demo run exported to a real MLflow tracking server (`mlflow server` from the venv
/// `.ci/setup` makes, on 127.0.0.1 with its default SQLite store, started and stopped here) and
/// read back through the same REST API; a second export finds the run and adds nothing.
@Suite(.serialized) struct MLflowExportTests {
    /// A running `mlflow server` and the workers it starts.
    final class Server {
        let process = Process()
        let url: URL
        let folder: URL

        init() throws {
            let candidates = [TrainingRunTests.repository.appendingPathComponent(".venv/bin/mlflow").path, "/usr/local/bin/mlflow", "/usr/bin/mlflow"]
            let binary = try #require(candidates.first { FileManager.default.isExecutableFile(atPath: $0) },
                                      "no mlflow: `bash .ci/setup` installs it in .venv")
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("mlflow-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let port = try Self.freePort()
            url = URL(string: "http://127.0.0.1:\(port)")!
            // Foundation starts the child in a process group of its own: stopping the group stops the workers too.
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["server", "--host", "127.0.0.1", "--port", String(port), "--workers", "1"]
            process.currentDirectoryURL = folder
            let log = folder.appendingPathComponent("server.log")
            FileManager.default.createFile(atPath: log.path, contents: nil)
            process.standardOutput = try FileHandle(forWritingTo: log)
            process.standardError = process.standardOutput
            try process.run()
        }

        /// Waits for `GET /health`; a server that exits or takes over two minutes fails with its log.
        func ready() async throws {
            let deadline = Date().addingTimeInterval(120)
            while Date() < deadline {
                if let (_, response) = try? await URLSession.shared.data(from: url.appendingPathComponent("health")),
                   (response as? HTTPURLResponse)?.statusCode == 200 { return }
                guard process.isRunning else { break }
                try await Task.sleep(nanoseconds: 500_000_000)
            }
            let log = folder.appendingPathComponent("server.log")
            throw Failure(description: "mlflow server did not start: \(String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self).suffix(2000))")
        }

        struct Failure: Error, CustomStringConvertible { let description: String }

        func stop() {
            let group = process.processIdentifier
            kill(-group, SIGTERM)
            let deadline = Date().addingTimeInterval(15)
            while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
            kill(-group, SIGKILL)
            process.waitUntilExit()
            try? FileManager.default.removeItem(at: folder)
        }

        static func freePort() throws -> Int {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = 0
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
            }
            guard bound else { throw Failure(description: "no free port") }
            return Int(UInt16(bigEndian: address.sin_port))
        }
    }

    @Test func anExportedRunReadsBackAndASecondExportAddsNothing() async throws {
        let (store, folder) = TrainingRunTests.store()
        defer { try? FileManager.default.removeItem(at: folder) }
        let trained = try TrainingRunTests.run(try TrainingSettings(steps: 2048, seed: 4), store: store)
        let report = try #require(trained.report)
        let id = report.runID
        try ReportPage.writeRunReport(id, store: store)  // as `tuner train` does
        let server = try Server()
        defer { server.stop() }
        try await server.ready()
        let client = MLflowClient(server: server.url)
        let export = RunExport(client: client, store: store)

        let first = try await export.export(run: id)
        #expect(first.created)
        let experiment = try await client.experimentID(named: "rl_autotuner")
        #expect(experiment == first.experimentID)
        let found = try await client.runs(experiment: experiment, tag: "tuner.run_id", value: id)
        #expect(found.count == 1 && found.first?.info.runID == first.mlflowRunID)
        let run = try await client.run(first.mlflowRunID)
        #expect(run.info.status == "FINISHED")

        // Params: the run's settings and each category's served configuration.
        let params = Dictionary(uniqueKeysWithValues: (run.data.params ?? []).map { ($0.key, $0.value) })
        #expect(params["seed"] == "4" && params["dataset_id"] == "demo" && params["ppo.totalSteps"] == "2048")
        #expect(!report.test.policyConfigs.isEmpty)
        for (category, c) in report.test.policyConfigs {
            // One param per knob of the served configuration.
            let settings = try RAGSettings(c)
            #expect(params["\(category).variant"] == settings.variant.rawValue && params["\(category).k"] == String(settings.k))
            #expect(params["\(category).template"] == settings.template.rawValue && params["\(category).rerank"] == String(settings.rerank))
        }
        let tags = Dictionary(uniqueKeysWithValues: (run.data.tags ?? []).map { ($0.key, $0.value) })
        #expect(tags["tuner.status"] == "finished" && tags["mlflow.runName"] == id)

        // The metric history: every update's value at its step and logged time.
        let logged = try store.metrics(run: id).filter { $0.name == "reward" }
        let history = try await client.history(run: first.mlflowRunID, key: "reward").sorted { $0.step < $1.step }
        #expect(history.count == logged.count && logged.count > 1)
        #expect(history.map(\.step) == logged.map { Int64($0.update) })
        #expect(zip(history, logged).allSatisfy { abs($0.value - $1.value) < 1e-12 && $0.timestamp == Int64(($1.time!.timeIntervalSince1970 * 1000).rounded()) })
        let testReward = try await client.history(run: first.mlflowRunID, key: "test_reward")
        #expect(testReward.count == 1 && abs(testReward[0].value - report.test.policyReward) < 1e-12)
        #expect(testReward[0].step == Int64(logged.map(\.update).max()! + 1))

        // The artifacts: every file the run registered, byte for byte.
        let files = try store.artifacts(run: id).map { URL(fileURLWithPath: $0.path).lastPathComponent }
        #expect(Set(try await client.artifacts(run: first.mlflowRunID)) == Set(files))
        #expect(files.contains("policy.ckpt") && files.contains("report.html") && files.contains("summary.csv"))
        let summary = try await client.download(run: run.info, path: "summary.csv")
        #expect(summary == (try Data(contentsOf: store.runFolder(id).appendingPathComponent("summary.csv"))))

        // Exported again: the same run, nothing duplicated.
        let second = try await export.export(run: id)
        #expect(!second.created && second.mlflowRunID == first.mlflowRunID && second.metricsSent == 0)
        #expect(try await client.runs(experiment: experiment, tag: "tuner.run_id", value: id).count == 1)
        #expect(try await client.history(run: first.mlflowRunID, key: "reward").count == logged.count)
    }
}
