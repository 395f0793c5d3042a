import Crypto
import Foundation
import GRDB
import NumericCore

/// One version of what production runs: the configuration (JSON: default settings, per-category
/// settings, whatever the service applies) and the policy checkpoint behind it, with its parent,
/// author, reason and time. Its id is the SHA-256 of its content and parent, so a version is never
/// changed in place: the table refuses updates, a change is a new version, and content changed
/// behind the table's back no longer matches its id (it is refused, never served).
public struct VersionRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "version"

    public enum AuthorKind: String, Codable, Sendable {
        case tuner, person
    }

    public var id: String
    public var parent: String?
    public var author: String
    public var authorKind: AuthorKind
    public var reason: String
    public var created: Date
    public var configuration: String
    public var checkpoint: Data?
}

/// A move of a named pointer ("production", "candidate", "standby") from one version to
/// another; `percent` is the share of traffic the pointer then carries (a candidate's rollout).
public struct PointerMove: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "pointerMove"
    public var pointer: String
    public var from: String?
    public var to: String
    public var at: Date
    public var reason: String
    public var percent: Double
}

/// A candidate version serving a share of traffic beside production (a canary or a gradual step).
public struct Rollout: Sendable, Equatable {
    public var candidate: VersionRecord
    public var percent: Double
}

/// Immutable, content-hashed versions of the production configuration in SQLite (WAL mode), and
/// the pointers that say which one serves. Deploying and rolling back move a pointer: no version
/// is rebuilt or re-evaluated, and every move is recorded.
public final class VersionStore: Sendable {
    public let path: URL
    private let database: DatabasePool
    public static let production = "production"
    /// The version a rollout routes `percent` of traffic to; at 0% it names production.
    public static let candidate = "candidate"
    /// Blue-green: the version production switched away from, kept for an instant switch back.
    public static let standby = "standby"

    public enum Failure: Error, CustomStringConvertible, Equatable {
        case unknownVersion(String)
        case ambiguous(String, matches: Int)
        case notJSON(String)
        case tampered(String)

        public var description: String {
            switch self {
            case let .tampered(id): "version \(id): its stored content no longer hashes to its id (changed after it was committed); refused"
            case let .unknownVersion(id): "no version '\(id)' in the store"
            case let .ambiguous(prefix, matches): "version prefix '\(prefix)' matches \(matches) versions; give more digits"
            case let .notJSON(reason): "the configuration is not a JSON object: \(reason)"
            }
        }
    }

    public init(path: URL) throws {
        self.path = path
        try FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
        // `tuner serve` and `tuner rsi` open the same file.
        database = try SharedDatabase.open(path, migrator: Self.migrator)
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "version") { t in
                t.primaryKey("id", .text)
                t.column("parent", .text).references("version")
                t.column("author", .text).notNull()
                t.column("authorKind", .text).notNull()
                t.column("reason", .text).notNull()
                t.column("created", .datetime).notNull()
                t.column("configuration", .text).notNull()
                t.column("checkpoint", .blob)
            }
            // Immutability is the database's rule, not only the code's.
            try db.execute(sql: """
                CREATE TRIGGER versionImmutable BEFORE UPDATE ON version BEGIN SELECT RAISE(ABORT, 'versions are immutable'); END;
                CREATE TRIGGER versionPermanent BEFORE DELETE ON version BEGIN SELECT RAISE(ABORT, 'versions are never deleted'); END;
                """)
            try db.create(table: "pointer") { t in
                t.primaryKey("name", .text)
                t.column("version", .text).notNull().references("version")
            }
            try db.create(table: "pointerMove") { t in
                t.autoIncrementedPrimaryKey("sequence")
                t.column("pointer", .text).notNull()
                t.column("from", .text)
                t.column("to", .text).notNull().references("version")
                t.column("at", .datetime).notNull()
                t.column("reason", .text).notNull()
            }
        }
        migrator.registerMigration("v2: rollout shares") { db in
            try db.alter(table: "pointer") { t in t.add(column: "percent", .double).notNull().defaults(to: 100) }
            try db.alter(table: "pointerMove") { t in t.add(column: "percent", .double).notNull().defaults(to: 100) }
        }
        return migrator
    }

    /// Records a version (idempotent: the same content and parent give the same id) and returns it.
    @discardableResult
    public func commit(configuration: String, checkpoint: Data?, parent: String?, author: String, kind: VersionRecord.AuthorKind,
                       reason: String, at date: Date = Date()) throws -> VersionRecord {
        let canonical = try Self.canonicalJSON(configuration)
        let id = Self.contentID(configuration: canonical, parent: parent, checkpoint: checkpoint)
        return try database.write { db in
            if let parent, try VersionRecord.fetchOne(db, key: parent) == nil { throw Failure.unknownVersion(parent) }
            if let existing = try VersionRecord.fetchOne(db, key: id) { return existing }
            let record = VersionRecord(id: id, parent: parent, author: author, authorKind: kind, reason: reason, created: date,
                                       configuration: canonical, checkpoint: checkpoint)
            try record.insert(db)
            // As stored (dates keep milliseconds), so a later read compares equal.
            return try VersionRecord.fetchOne(db, key: id)!
        }
    }

    /// Points `pointer` at `version` (carrying `percent` of traffic) and records the move.
    public func point(_ pointer: String = production, to version: String, percent: Double = 100, reason: String, at date: Date = Date()) throws {
        precondition((0...100).contains(percent), "a traffic share is a percentage")
        try database.write { db in
            try Self.point(db, pointer, to: version, percent: percent, reason: reason, at: date)
        }
    }

    private static func point(_ db: Database, _ pointer: String, to version: String, percent: Double, reason: String, at date: Date) throws {
        guard try VersionRecord.fetchOne(db, key: version) != nil else { throw Failure.unknownVersion(version) }
        let from = try String.fetchOne(db, sql: "SELECT version FROM pointer WHERE name = ?", arguments: [pointer])
        try db.execute(sql: """
            INSERT INTO pointer (name, version, percent) VALUES (?, ?, ?)
            ON CONFLICT(name) DO UPDATE SET version = excluded.version, percent = excluded.percent
            """, arguments: [pointer, version, percent])
        try PointerMove(pointer: pointer, from: from, to: version, at: date, reason: reason, percent: percent).insert(db)
    }

    /// Routes `percent` of traffic to `candidate` beside production.
    public func startRollout(of candidate: String, percent: Double, reason: String, at date: Date = Date()) throws {
        try point(Self.candidate, to: candidate, percent: percent, reason: reason, at: date)
    }

    /// Promotes the rollout's candidate: production points at it and the rollout ends, in one
    /// transaction, so no reader sees a half-made switch.
    public func promoteRollout(reason: String, at date: Date = Date()) throws {
        try database.write { db in
            guard let candidate = try String.fetchOne(db, sql: "SELECT version FROM pointer WHERE name = ?", arguments: [Self.candidate]) else {
                return
            }
            try Self.point(db, Self.production, to: candidate, percent: 100, reason: reason, at: date)
            try Self.point(db, Self.candidate, to: candidate, percent: 0, reason: reason, at: date)
        }
    }

    /// Ends a rollout without promoting it: every request goes to production again.
    public func endRollout(reason: String, at date: Date = Date()) throws {
        try database.write { db in
            guard let production = try String.fetchOne(db, sql: "SELECT version FROM pointer WHERE name = ?", arguments: [Self.production]) else {
                return
            }
            try Self.point(db, Self.candidate, to: production, percent: 0, reason: reason, at: date)
        }
    }

    /// The rollout in progress: a candidate other than production with a share above 0%.
    public func rollout() throws -> Rollout? {
        try database.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT version, percent FROM pointer WHERE name = ?", arguments: [Self.candidate]),
                  let percent = row["percent"] as Double?, percent > 0,
                  let id = row["version"] as String?,
                  id != (try String.fetchOne(db, sql: "SELECT version FROM pointer WHERE name = ?", arguments: [Self.production])),
                  let record = try VersionRecord.fetchOne(db, key: id)
            else { return nil }
            return Rollout(candidate: try Self.verified(record), percent: percent)
        }
    }

    /// The version `pointer` names, if any.
    public func current(_ pointer: String = production) throws -> VersionRecord? {
        try database.read { db in
            try String.fetchOne(db, sql: "SELECT version FROM pointer WHERE name = ?", arguments: [pointer])
                .flatMap { try VersionRecord.fetchOne(db, key: $0) }.map(Self.verified)
        }
    }

    /// The version with this id or unique id prefix.
    public func version(_ idOrPrefix: String) throws -> VersionRecord {
        try database.read { db in
            // A prefix compared as text, not a LIKE pattern: '%' or '_' in what was typed match only themselves.
            let matches = try VersionRecord.filter(sql: "substr(id, 1, ?) = ?", arguments: [idOrPrefix.unicodeScalars.count, idOrPrefix]).fetchAll(db)
            guard !matches.isEmpty else { throw Failure.unknownVersion(idOrPrefix) }
            guard matches.count == 1 else { throw Failure.ambiguous(idOrPrefix, matches: matches.count) }
            return try Self.verified(matches[0])
        }
    }

    /// Every version, oldest first.
    public func versions() throws -> [VersionRecord] {
        try database.read { db in try VersionRecord.order(Column("created"), Column("id")).fetchAll(db) }
    }

    /// The moves of `pointer`, oldest first.
    public func moves(_ pointer: String = production) throws -> [PointerMove] {
        try database.read { db in try PointerMove.filter(Column("pointer") == pointer).order(Column("sequence")).fetchAll(db) }
    }

    /// `version` and its ancestors, newest first.
    public func lineage(of version: String) throws -> [VersionRecord] {
        var chain: [VersionRecord] = []
        var next: String? = version
        while let id = next {
            let record = try self.version(id)
            chain.append(record)
            next = record.parent
        }
        return chain
    }

    /// The ids of the versions whose stored content no longer hashes to them, oldest first.
    public func tamperedVersions() throws -> [String] {
        try versions().filter { (try? Self.verified($0)) == nil }.map(\.id)
    }

    /// SHA-256 over the canonical configuration, the parent and the checkpoint. Versions
    /// committed before SHA-256 ids carry a 64-bit hash of the same bytes (16 hex digits).
    static func contentID(configuration canonical: String, parent: String?, checkpoint: Data?, legacy: Bool = false) -> String {
        var bytes = Array(canonical.utf8) + [0]
        bytes += Array((parent ?? "").utf8) + [0]
        if let checkpoint { bytes += checkpoint }
        return legacy ? StableHash.hexDigest(bytes) : SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    /// `record` if its content still hashes to its id.
    static func verified(_ record: VersionRecord) throws -> VersionRecord {
        let id = contentID(configuration: record.configuration, parent: record.parent, checkpoint: record.checkpoint, legacy: record.id.count == 16)
        guard id == record.id else { throw Failure.tampered(record.id) }
        return record
    }

    /// The configuration with sorted keys and no insignificant spaces, so equal content hashes equally.
    static func canonicalJSON(_ text: String) throws -> String {
        do {
            let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
            guard object is [String: Any] else { throw Failure.notJSON("not an object") }
            return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure.notJSON("\(error.localizedDescription)")
        }
    }
}
