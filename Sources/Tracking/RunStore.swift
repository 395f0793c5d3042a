import Foundation
import GRDB

/// Where a training run stands.
public enum RunStatus: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
    case running, interrupted, finished, failed
}

/// One training run: what was run, on what, with which settings, and how it ended.
public struct RunRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "run"

    public var id: String
    public var experiment: String
    public var created: Date
    public var status: RunStatus
    public var command: String
    public var datasetPath: String
    public var datasetID: String
    public var datasetCommit: String?
    public var policyConfigurationHash: String
    public var projectVersion: String
    public var seed: Int64
    /// Every hyperparameter, as JSON.
    public var hyperparameters: String
    /// The verdict, as JSON, once the run finished.
    public var verdict: String?
    public var wallSeconds: Double?

    public init(
        id: String, experiment: String, created: Date, status: RunStatus, command: String, datasetPath: String, datasetID: String,
        datasetCommit: String?, policyConfigurationHash: String, projectVersion: String, seed: Int64, hyperparameters: String
    ) {
        self.id = id
        self.experiment = experiment
        self.created = created
        self.status = status
        self.command = command
        self.datasetPath = datasetPath
        self.datasetID = datasetID
        self.datasetCommit = datasetCommit
        self.policyConfigurationHash = policyConfigurationHash
        self.projectVersion = projectVersion
        self.seed = seed
        self.hyperparameters = hyperparameters
    }
}

/// One metric of one PPO update.
public struct MetricRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "metric"
    public var runID: String
    public var update: Int
    public var step: Int
    public var name: String
    public var value: Double
    /// When it was logged (runs logged before the time was kept have none).
    public var time: Date?

    public init(runID: String, update: Int, step: Int, name: String, value: Double, time: Date? = nil) {
        self.runID = runID
        self.update = update
        self.step = step
        self.name = name
        self.value = value
        self.time = time
    }
}

/// A file a run left beside the database (checkpoint, predictions, summary).
public struct ArtifactRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "artifact"
    public var runID: String
    public var name: String
    /// Relative to the store's folder.
    public var path: String
}

/// Runs, their per-update metrics and their artifacts in one SQLite database (WAL mode) at
/// `folder/runs.sqlite`; each run's files live in `folder/<run id>/`.
public final class RunStore: Sendable {
    public let folder: URL
    private let database: DatabasePool

    public init(folder: URL) throws {
        self.folder = folder
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // Several `tuner train` processes may share one store (seeds run side by side).
        database = try SharedDatabase.open(folder.appendingPathComponent("runs.sqlite"), migrator: Self.migrator)
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "experiment") { t in
                t.primaryKey("name", .text)
                t.column("created", .datetime).notNull()
            }
            try db.create(table: "run") { t in
                t.primaryKey("id", .text)
                t.column("experiment", .text).notNull().references("experiment")
                t.column("created", .datetime).notNull()
                t.column("status", .text).notNull()
                t.column("command", .text).notNull()
                t.column("datasetPath", .text).notNull()
                t.column("datasetID", .text).notNull()
                t.column("datasetCommit", .text)
                t.column("policyConfigurationHash", .text).notNull()
                t.column("projectVersion", .text).notNull()
                t.column("seed", .integer).notNull()
                t.column("hyperparameters", .text).notNull()
                t.column("verdict", .text)
                t.column("wallSeconds", .double)
            }
            try db.create(table: "metric") { t in
                t.column("runID", .text).notNull().references("run", onDelete: .cascade)
                t.column("update", .integer).notNull()
                t.column("step", .integer).notNull()
                t.column("name", .text).notNull()
                t.column("value", .double).notNull()
                t.primaryKey(["runID", "update", "name"])
            }
            try db.create(table: "artifact") { t in
                t.column("runID", .text).notNull().references("run", onDelete: .cascade)
                t.column("name", .text).notNull()
                t.column("path", .text).notNull()
                t.primaryKey(["runID", "name"])
            }
        }
        migrator.registerMigration("v2: metric time") { db in
            try db.alter(table: "metric") { t in t.add(column: "time", .datetime) }
        }
        return migrator
    }

    public enum Failure: Error, CustomStringConvertible, Equatable {
        case unknownRun(String)
        case ambiguousRun(String, matches: [String])
        case lock(String, String)
        public var description: String {
            switch self {
            case let .lock(id, reason): "run \(id) cannot be locked: \(reason)"
            case .unknownRun(let id): "no run '\(id)' in this store"
            case .ambiguousRun(let id, let matches): "'\(id)' matches several runs: \(matches.joined(separator: ", "))"
            }
        }
    }

    /// A new run id: UTC time and a random suffix, sortable by creation.
    public static func newRunID(now: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: now) + "-" + String(UInt32.random(in: 0..<UInt32.max), radix: 16)
    }

    /// Records a new run (and its experiment) and creates its folder.
    public func create(_ run: RunRecord) throws {
        try database.write { db in
            if try Row.fetchOne(db, sql: "SELECT 1 FROM experiment WHERE name = ?", arguments: [run.experiment]) == nil {
                try db.execute(sql: "INSERT INTO experiment (name, created) VALUES (?, ?)", arguments: [run.experiment, run.created])
            }
            try run.insert(db)
        }
        try FileManager.default.createDirectory(at: runFolder(run.id), withIntermediateDirectories: true)
    }

    public func runFolder(_ id: String) -> URL { folder.appendingPathComponent(id) }

    public func log(run id: String, update: Int, step: Int, metrics: [String: Double], time: Date = Date()) throws {
        try database.write { db in
            for (name, value) in metrics.sorted(by: { $0.key < $1.key }) where value.isFinite {
                try MetricRecord(runID: id, update: update, step: step, name: name, value: value, time: time).upsert(db)
            }
        }
    }

    /// Registers a file already written in the run's folder.
    public func addArtifact(run id: String, name: String, file: String) throws {
        try database.write { db in try ArtifactRecord(runID: id, name: name, path: "\(id)/\(file)").upsert(db) }
    }

    public func update(_ run: RunRecord) throws {
        try database.write { db in try run.update(db) }
    }

    public func runs() throws -> [RunRecord] {
        try database.read { db in try RunRecord.order(Column("created").desc, Column("id").desc).fetchAll(db) }
    }

    /// The run whose id is `id` or starts with it.
    public func run(_ id: String) throws -> RunRecord {
        let matches = try database.read { db in
            // A prefix compared as text, not a LIKE pattern: '%' or '_' in what was typed match only themselves.
            try RunRecord.filter(sql: "substr(id, 1, ?) = ?", arguments: [id.unicodeScalars.count, id]).fetchAll(db)
        }
        if let exact = matches.first(where: { $0.id == id }) { return exact }
        guard !matches.isEmpty else { throw Failure.unknownRun(id) }
        guard matches.count == 1 else { throw Failure.ambiguousRun(id, matches: matches.map(\.id)) }
        return matches[0]
    }

    public func metrics(run id: String) throws -> [MetricRecord] {
        try database.read { db in
            try MetricRecord.filter(Column("runID") == id).order(Column("update"), Column("name")).fetchAll(db)
        }
    }

    public func artifacts(run id: String) throws -> [ArtifactRecord] {
        try database.read { db in try ArtifactRecord.filter(Column("runID") == id).order(Column("name")).fetchAll(db) }
    }

    /// Takes the run's lock (`<run>/run.lock`), held for as long as the returned value lives:
    /// the kernel drops it when the process ends, however it ends, so a run recorded as running
    /// whose lock is free has died. Fails when another process holds it.
    public func lock(run id: String) throws -> RunLock {
        let path = runFolder(id).appendingPathComponent("run.lock").path
        let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Failure.lock(id, String(cString: strerror(errno))) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw Failure.lock(id, "another process is training it")
        }
        return RunLock(descriptor: fd)
    }

    /// Whether a live process holds the run's lock.
    public func isLocked(run id: String) -> Bool {
        let fd = open(runFolder(id).appendingPathComponent("run.lock").path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return true }
        flock(fd, LOCK_UN)
        return false
    }

    /// The status as it stands: a run recorded as running whose process no longer holds its lock
    /// died (killed, or the machine stopped) and can be resumed.
    public func status(of run: RunRecord) -> String {
        run.status == .running && !isLocked(run: run.id) ? "died" : run.status.rawValue
    }

    /// The database's journal mode ("wal").
    public func journalMode() throws -> String {
        try database.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }
}

/// A run's lock, released when this value is released (or the process ends).
public final class RunLock: Sendable {
    let descriptor: Int32
    init(descriptor: Int32) { self.descriptor = descriptor }
    deinit { close(descriptor) }
}
