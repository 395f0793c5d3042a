import Foundation
import GRDB
import NumericCore
import TunerPolicy

/// A hypothesis as the experience database keeps it: the change, its evidence, the conditions
/// it was made under (category, load, corpus size) and where it got to.
public struct HypothesisRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "hypothesis"

    public enum Status: String, Codable, Sendable, CaseIterable {
        /// Put forward by the generator, not yet validated.
        case proposed
        /// Waiting for a person (`tuner rsi review`).
        case pendingReview = "pending_review"
        case approved, rejected
        /// Its A/B test passed or failed.
        case passed, failed
        /// In production; `kept` once monitoring found no regression, `rolledBack` when it did.
        case deployed, kept
        case rolledBack = "rolled_back"
        /// Passed, but left out of the deployment (another change to the same settings won, or auto-deploy is off).
        case notDeployed = "not_deployed"
        /// Generated but not put forward: no expected gain on the window, or beyond `max_hypotheses`.
        case discarded
    }

    public var id: String
    public var cycle: String
    public var service: String
    public var kind: Hypothesis.Kind
    public var category: String
    public var fromSettings: String
    public var toSettings: String
    public var evidence: String
    public var risk: Hypothesis.Risk
    public var score: Double
    public var patternNote: String?
    public var status: Status
    public var requestsPerHour: Double
    public var corpusDocuments: Int
    public var created: Date

    public var hypothesis: Hypothesis {
        get throws {
            let decoder = JSONDecoder()
            return Hypothesis(
                id: id, cycle: cycle, kind: kind, category: category,
                from: try decoder.decode(RAGSettings.self, from: Data(fromSettings.utf8)),
                to: try decoder.decode(RAGSettings.self, from: Data(toSettings.utf8)),
                evidence: try decoder.decode(Hypothesis.Evidence.self, from: Data(evidence.utf8)), risk: risk, score: score, patternNote: patternNote)
        }
    }

    /// The load the hypothesis was made under, in buckets patterns can group by.
    public var loadBucket: String { requestsPerHour < 100 ? "load<100/h" : requestsPerHour < 10_000 ? "load 100–10k/h" : "load≥10k/h" }
    public var corpusBucket: String { corpusDocuments < 1_000 ? "corpus<1k" : corpusDocuments < 100_000 ? "corpus 1k–100k" : "corpus≥100k" }
}

/// A stage's result for a cycle or a hypothesis: validation, review, test, deployment step, monitoring.
public struct StageRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "stage"
    public var cycle: String
    public var hypothesis: String?
    public var stage: String
    public var verdict: String
    public var detail: String
    public var at: Date
}

/// One run of the loop and how it ended.
public struct CycleRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "cycle"
    public var id: String
    public var service: String
    public var started: Date
    public var finished: Date?
    public var success: Bool
    /// The gate that stopped it, if one did.
    public var gate: String?
    public var reason: String
    public var deployedVersion: String?
    public var hypothesesDeployed: Int
}

/// The experience database (SQLite, WAL): every hypothesis with its context, every validation,
/// review, test, deployment step and outcome, every cycle — and the audit trail beside them.
public final class ExperienceStore: Sendable {
    public let path: URL
    let database: DatabasePool
    public let audit: AuditTrail

    public enum Failure: Error, CustomStringConvertible, Equatable {
        case unknownHypothesis(String)
        case notPending(String, HypothesisRecord.Status)
        public var description: String {
            switch self {
            case let .unknownHypothesis(id): "no hypothesis '\(id)' in the experience database"
            case let .notPending(id, status): "hypothesis \(id) is \(status.rawValue), not waiting for review"
            }
        }
    }

    public init(path: URL) throws {
        self.path = path
        try FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("experience v1") { db in
            try db.create(table: "cycle") { t in
                t.primaryKey("id", .text)
                t.column("service", .text).notNull().indexed()
                t.column("started", .datetime).notNull()
                t.column("finished", .datetime)
                t.column("success", .boolean).notNull()
                t.column("gate", .text)
                t.column("reason", .text).notNull()
                t.column("deployedVersion", .text)
                t.column("hypothesesDeployed", .integer).notNull()
            }
            try db.create(table: "hypothesis") { t in
                t.primaryKey("id", .text)
                t.column("cycle", .text).notNull().references("cycle")
                t.column("service", .text).notNull().indexed()
                t.column("kind", .text).notNull()
                t.column("category", .text).notNull()
                t.column("fromSettings", .text).notNull()
                t.column("toSettings", .text).notNull()
                t.column("evidence", .text).notNull()
                t.column("risk", .text).notNull()
                t.column("score", .double).notNull()
                t.column("patternNote", .text)
                t.column("status", .text).notNull().indexed()
                t.column("requestsPerHour", .double).notNull()
                t.column("corpusDocuments", .integer).notNull()
                t.column("created", .datetime).notNull()
            }
            try db.create(table: "stage") { t in
                t.autoIncrementedPrimaryKey("sequence")
                t.column("cycle", .text).notNull().references("cycle")
                t.column("hypothesis", .text).references("hypothesis")
                t.column("stage", .text).notNull()
                t.column("verdict", .text).notNull()
                t.column("detail", .text).notNull()
                t.column("at", .datetime).notNull()
            }
        }
        AuditTrail.migrate(&migrator)
        // A running `tuner rsi run` and `tuner rsi review` or `experience` open the same file.
        database = try SharedDatabase.open(path, migrator: migrator)
        audit = AuditTrail(database: database)
    }

    /// Opens a cycle: stages and hypotheses are recorded under it.
    @discardableResult
    public func beginCycle(_ id: String, service: String, at date: Date = Date()) throws -> CycleRecord {
        let cycle = CycleRecord(id: id, service: service, started: date, finished: nil, success: false, gate: nil, reason: "",
                                deployedVersion: nil, hypothesesDeployed: 0)
        try database.write { db in try cycle.insert(db) }
        return cycle
    }

    public func finish(_ cycle: CycleRecord) throws {
        try database.write { db in try cycle.update(db) }
    }

    /// Records a hypothesis with the conditions it was made under, in its (begun) cycle.
    @discardableResult
    public func insert(_ hypothesis: Hypothesis, service: String, requestsPerHour: Double, corpusDocuments: Int, status: HypothesisRecord.Status,
                       at date: Date = Date()) throws -> HypothesisRecord {
        let encoder = JSONEncoder.sorted
        let record = HypothesisRecord(
            id: hypothesis.id, cycle: hypothesis.cycle, service: service, kind: hypothesis.kind, category: hypothesis.category,
            fromSettings: String(decoding: try encoder.encode(hypothesis.from), as: UTF8.self),
            toSettings: String(decoding: try encoder.encode(hypothesis.to), as: UTF8.self),
            evidence: String(decoding: try encoder.encode(hypothesis.evidence), as: UTF8.self), risk: hypothesis.risk, score: hypothesis.score,
            patternNote: hypothesis.patternNote, status: status, requestsPerHour: requestsPerHour, corpusDocuments: corpusDocuments, created: date)
        try database.write { db in try record.insert(db) }
        return record
    }

    /// Sets a hypothesis's status and records the stage that set it; `audited` also appends it to
    /// the audit trail, in the same transaction.
    public func record(cycle: String, hypothesis: String?, stage: String, verdict: String, detail: String, status: HypothesisRecord.Status? = nil,
                audited actor: String? = nil, at date: Date = Date()) throws {
        try database.write { db in
            if let hypothesis, let status {
                try db.execute(sql: "UPDATE hypothesis SET status = ? WHERE id = ?", arguments: [status.rawValue, hypothesis])
            }
            try StageRecord(cycle: cycle, hypothesis: hypothesis, stage: stage, verdict: verdict, detail: detail, at: date).insert(db)
            if let actor {
                try AuditTrail.append(db, action: "\(stage): \(verdict)", actor: actor, subject: hypothesis ?? cycle, detail: detail, at: date)
            }
        }
    }

    /// A person's decision on a hypothesis waiting for review, recorded and audited.
    public func review(_ id: String, approve: Bool, reviewer: String, reason: String, at date: Date = Date()) throws -> HypothesisRecord {
        let record = try hypothesis(id)
        guard record.status == .pendingReview else { throw Failure.notPending(id, record.status) }
        try self.record(cycle: record.cycle, hypothesis: id, stage: "review", verdict: approve ? "approved" : "rejected",
                        detail: "\(reviewer): \(reason)", status: approve ? .approved : .rejected, audited: reviewer, at: date)
        return try hypothesis(id)
    }

    public func hypothesis(_ id: String) throws -> HypothesisRecord {
        guard let record = try database.read({ db in try HypothesisRecord.fetchOne(db, key: id) }) else { throw Failure.unknownHypothesis(id) }
        return record
    }

    /// A service's hypotheses, newest first, optionally only those with one of `statuses`.
    public func hypotheses(service: String? = nil, statuses: [HypothesisRecord.Status]? = nil) throws -> [HypothesisRecord] {
        try database.read { db in
            var request = HypothesisRecord.all()
            if let service { request = request.filter(Column("service") == service) }
            if let statuses { request = request.filter(statuses.map(\.rawValue).contains(Column("status"))) }
            return try request.order(Column("created").desc, Column("id")).fetchAll(db)
        }
    }

    /// Hypotheses that reached production and stayed there.
    public func successfulHypotheses(service: String) throws -> [HypothesisRecord] {
        try hypotheses(service: service, statuses: [.kept])
    }

    public func stages(cycle: String? = nil, hypothesis: String? = nil) throws -> [StageRecord] {
        try database.read { db in
            var request = StageRecord.all()
            if let cycle { request = request.filter(Column("cycle") == cycle) }
            if let hypothesis { request = request.filter(Column("hypothesis") == hypothesis) }
            return try request.order(Column("sequence")).fetchAll(db)
        }
    }

    public func cycles(service: String? = nil) throws -> [CycleRecord] {
        try database.read { db in
            var request = CycleRecord.all()
            if let service { request = request.filter(Column("service") == service) }
            return try request.order(Column("started")).fetchAll(db)
        }
    }
}
