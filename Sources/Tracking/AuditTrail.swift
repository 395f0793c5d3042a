import Crypto
import Foundation
import GRDB

/// One link of the audit trail: a deployment, approval, rejection, promotion or rollback, with
/// the SHA-256 of the link before it. Changing, removing or reordering any record breaks every
/// hash after it, which `AuditTrail.verify` reports.
public struct AuditRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "audit"
    public var sequence: Int64
    public var at: Date
    public var action: String
    public var actor: String
    public var subject: String
    public var detail: String
    public var previousHash: String
    public var hash: String

    /// SHA-256 over the fields in a fixed order, each length-prefixed so no two records collide by concatenation.
    static func digest(sequence: Int64, at: Date, action: String, actor: String, subject: String, detail: String, previousHash: String) -> String {
        var bytes: [UInt8] = []
        for field in [String(sequence), String(format: "%.3f", at.timeIntervalSince1970), action, actor, subject, detail, previousHash] {
            let utf8 = Array(field.utf8)
            bytes += withUnsafeBytes(of: UInt64(utf8.count).bigEndian, Array.init) + utf8
        }
        return SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }
}

/// The append-only, hash-chained audit trail (a table of the experience database).
public struct AuditTrail: Sendable {
    let database: DatabasePool
    /// The previous hash of the first record.
    public static let genesis = String(repeating: "0", count: 64)

    public enum Verification: Sendable, Equatable, CustomStringConvertible {
        case intact(records: Int)
        case broken(sequence: Int64, reason: String)
        public var description: String {
            switch self {
            case let .intact(n): "audit trail intact: \(n) records, every hash and link verified"
            case let .broken(sequence, reason): "audit trail broken at record \(sequence): \(reason)"
            }
        }
    }

    static func migrate(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("audit v1") { db in
            try db.create(table: "audit") { t in
                t.primaryKey("sequence", .integer)
                t.column("at", .datetime).notNull()
                t.column("action", .text).notNull()
                t.column("actor", .text).notNull()
                t.column("subject", .text).notNull()
                t.column("detail", .text).notNull()
                t.column("previousHash", .text).notNull()
                t.column("hash", .text).notNull()
            }
        }
    }

    /// Appends a record chained to the last one, inside the caller's transaction when there is one.
    @discardableResult
    static func append(_ db: Database, action: String, actor: String, subject: String, detail: String, at date: Date) throws -> AuditRecord {
        let last = try AuditRecord.order(Column("sequence").desc).fetchOne(db)
        let sequence = (last?.sequence ?? 0) + 1
        // Stored with millisecond precision: hash what will be read back.
        let at = Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1000).rounded() / 1000)
        let previous = last?.hash ?? genesis
        let record = AuditRecord(sequence: sequence, at: at, action: action, actor: actor, subject: subject, detail: detail, previousHash: previous,
                                 hash: AuditRecord.digest(sequence: sequence, at: at, action: action, actor: actor, subject: subject, detail: detail,
                                                          previousHash: previous))
        try record.insert(db)
        return record
    }

    @discardableResult
    public func append(action: String, actor: String, subject: String, detail: String, at date: Date = Date()) throws -> AuditRecord {
        try database.write { db in try Self.append(db, action: action, actor: actor, subject: subject, detail: detail, at: date) }
    }

    public func records() throws -> [AuditRecord] {
        try database.read { db in try AuditRecord.order(Column("sequence")).fetchAll(db) }
    }

    /// The newest record's place and hash: kept somewhere else, it lets a later `verify` tell a
    /// trail that lost its newest records (or all of them) from an intact one.
    public struct Head: Sendable, Equatable, CustomStringConvertible {
        public var sequence: Int64
        public var hash: String

        public init(sequence: Int64, hash: String) {
            self.sequence = sequence
            self.hash = hash
        }

        /// "SEQUENCE:HASH", as `description` writes it.
        public init?(_ text: String) {
            let parts = text.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let sequence = Int64(parts[0]), sequence >= 1, parts[1].count == 64,
                  parts[1].allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { return nil }
            self.init(sequence: sequence, hash: String(parts[1]))
        }

        public var description: String { "\(sequence):\(hash)" }
    }

    public func head() throws -> Head? {
        try database.read { db in try AuditRecord.order(Column("sequence").desc).fetchOne(db) }.map { Head(sequence: $0.sequence, hash: $0.hash) }
    }

    /// Walks the chain from the first record and reports the first one whose hash or link is
    /// wrong; with `expected`, a head kept from an earlier look, also a trail that no longer
    /// reaches it or holds another record in its place.
    public func verify(expecting expected: Head? = nil) throws -> Verification {
        let records = try records()
        if let expected {
            guard expected.sequence <= records.count else {
                return .broken(sequence: expected.sequence, reason: "the trail ends at record \(records.count): the records after it were removed")
            }
            let kept = records[Int(expected.sequence) - 1]
            guard kept.hash == expected.hash else {
                return .broken(sequence: expected.sequence, reason: "it hashes to \(kept.hash.prefix(12))…, not the \(expected.hash.prefix(12))… kept: the trail was rewritten")
            }
        }
        var previous = Self.genesis
        for (i, r) in records.enumerated() {
            if r.sequence != Int64(i + 1) {
                return .broken(sequence: r.sequence, reason: "expected record \(i + 1) here: a record was removed or inserted")
            }
            if r.previousHash != previous {
                return .broken(sequence: r.sequence, reason: "its link names \(r.previousHash.prefix(12))…, but the record before hashes to \(previous.prefix(12))…")
            }
            let expected = AuditRecord.digest(sequence: r.sequence, at: r.at, action: r.action, actor: r.actor, subject: r.subject,
                                              detail: r.detail, previousHash: r.previousHash)
            if r.hash != expected {
                return .broken(sequence: r.sequence, reason: "its content no longer matches its hash (altered after it was written)")
            }
            previous = r.hash
        }
        return .intact(records: records.count)
    }
}
