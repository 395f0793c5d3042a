import Foundation
import GRDB
import Synchronization
import Testing
import Tracking

@Suite struct RunStoreTests {
    static func temporaryStore() throws -> RunStore {
        try RunStore(folder: FileManager.default.temporaryDirectory.appendingPathComponent("ragtuner-runs-\(UUID().uuidString)"))
    }

    static func record(_ id: String, seed: Int64 = 1) -> RunRecord {
        RunRecord(
            id: id, experiment: "demo", created: Date(timeIntervalSince1970: 1_800_000_000 + Double(seed)), status: .running,
            command: "tuner train --mode offline", datasetPath: "datasets/demo", datasetID: "demo", datasetCommit: nil,
            policyConfigurationHash: "0xdeadbeef", projectVersion: "0.1.0", seed: seed, hyperparameters: #"{"epochs":8}"#)
    }

    /// Two processes training into one store: while another connection holds the write lock, a
    /// run is created once the lock is released instead of failing with "database is locked".
    @Test func aWriterWaitsForAnotherConnectionsLock() throws {
        let store = try Self.temporaryStore()
        defer { try? FileManager.default.removeItem(at: store.folder) }
        let other = try DatabaseQueue(path: store.folder.appendingPathComponent("runs.sqlite").path)
        let locked = DispatchSemaphore(value: 0)
        let released = DispatchSemaphore(value: 0)
        Thread {
            try? other.inTransaction(.exclusive) { _ in
                locked.signal()
                Thread.sleep(forTimeInterval: 0.4)
                return .commit
            }
            released.signal()
        }.start()
        locked.wait()
        let start = Date()
        try RunStore(folder: store.folder).create(Self.record("20261123-000003-cc"))
        #expect(Date().timeIntervalSince(start) > 0.2, "the write waited for the lock")
        released.wait()
        #expect(try store.runs().map(\.id) == ["20261123-000003-cc"])
    }

    /// Runs started side by side on a fresh `--out` folder: every first open of the store
    /// succeeds, where two migrations racing each other failed with "table … already exists".
    @Test func storesOpenedTogetherOnAFreshFolderAllOpen() throws {
        for attempt in 0..<10 {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("runs-together-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: folder) }
            let failures = Mutex<[String]>([])
            DispatchQueue.concurrentPerform(iterations: 6) { i in
                do {
                    try RunStore(folder: folder).create(Self.record("20261123-00000\(i)-a\(attempt)"))
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
            #expect(failures.withLock { $0 }.isEmpty, "attempt \(attempt): \(failures.withLock { $0 })")
            #expect(try RunStore(folder: folder).runs().count == 6)
        }
    }

    /// A real SQLite file in WAL mode; runs, metrics and artifacts round-trip, a reopened store
    /// sees them, prefixes find runs, unknown and ambiguous ids are errors.
    @Test func runsMetricsAndArtifactsPersist() throws {
        let store = try Self.temporaryStore()
        defer { try? FileManager.default.removeItem(at: store.folder) }
        #expect(try store.journalMode() == "wal")
        try store.create(Self.record("20261123-000001-aa", seed: 1))
        try store.create(Self.record("20261123-000002-bb", seed: 2))
        #expect(FileManager.default.fileExists(atPath: store.runFolder("20261123-000001-aa").path))
        try store.log(run: "20261123-000001-aa", update: 1, step: 512, metrics: ["reward": 0.5, "kl": 0.01, "nan": .nan])
        try store.log(run: "20261123-000001-aa", update: 2, step: 1024, metrics: ["reward": 0.6, "kl": 0.02])
        try store.addArtifact(run: "20261123-000001-aa", name: "policy", file: "policy.ckpt")
        var run = try store.run("20261123-000001")
        run.status = .finished
        run.verdict = #"{"test":{}}"#
        run.wallSeconds = 2.5
        try store.update(run)

        let reopened = try RunStore(folder: store.folder)
        #expect(try reopened.runs().map(\.id) == ["20261123-000002-bb", "20261123-000001-aa"])
        let loaded = try reopened.run("20261123-000001-aa")
        #expect(loaded.status == .finished && loaded.wallSeconds == 2.5 && loaded.verdict == #"{"test":{}}"#)
        let metrics = try reopened.metrics(run: loaded.id)
        #expect(metrics.map(\.name) == ["kl", "reward", "kl", "reward"], "NaN is not stored")
        #expect(metrics.last!.value == 0.6 && metrics.last!.step == 1024)
        #expect(try reopened.artifacts(run: loaded.id).map(\.path) == ["20261123-000001-aa/policy.ckpt"])
        #expect(throws: RunStore.Failure.unknownRun("nope")) { try reopened.run("nope") }
        #expect(throws: RunStore.Failure.ambiguousRun("20261123", matches: ["20261123-000001-aa", "20261123-000002-bb"])) {
            try reopened.run("20261123")
        }
        // What is typed is a prefix, not a pattern: '%' and '_' once matched every run.
        #expect(throws: RunStore.Failure.unknownRun("%")) { try reopened.run("%") }
        #expect(throws: RunStore.Failure.unknownRun("2026112_-000001")) { try reopened.run("2026112_-000001") }
    }
}
