import Foundation
import GRDB
import NumericCore
import Testing
import Tracking

@Suite struct VersionStoreTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("versions-\(UUID().uuidString)")

    @Test func versionsAreContentHashedImmutableAndRolledBackByAPointerMove() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("versions.sqlite")
        let store = try VersionStore(path: url)
        let v1 = try store.commit(configuration: #"{"default": {"k": 10, "variant": "hybrid"}}"#, checkpoint: nil, parent: nil,
                                  author: "alice", kind: .person, reason: "initial production settings")
        // The same content, written differently, is the same version.
        let again = try store.commit(configuration: #"{ "default" : { "variant":"hybrid", "k":10 } }"#, checkpoint: nil, parent: nil,
                                     author: "bob", kind: .person, reason: "again")
        #expect(again == v1 && v1.id.count == 64)
        try store.point(to: v1.id, reason: "first deployment")
        let checkpoint = Data((0..<256).map { UInt8($0) })
        let v2 = try store.commit(configuration: #"{"default": {"k": 8, "variant": "bm25"}}"#, checkpoint: checkpoint, parent: v1.id,
                                  author: "tuner run 20261123-054406", kind: .tuner, reason: "hypothesis H3: bm25, k 8")
        let v3 = try store.commit(configuration: #"{"default": {"k": 5, "variant": "bm25"}}"#, checkpoint: checkpoint, parent: v2.id,
                                  author: "tuner", kind: .tuner, reason: "hypothesis H4: k 5")
        #expect(Set([v1.id, v2.id, v3.id]).count == 3)
        try store.point(to: v2.id, reason: "canary promoted H3")
        try store.point(to: v3.id, reason: "canary promoted H4")
        #expect(try store.current()?.id == v3.id)

        // Rollback: a pointer move to any earlier version, nothing rebuilt.
        try store.point(to: v1.id, reason: "rollback: relevancy gate breached")
        #expect(try store.current() == v1)
        #expect(try store.moves().map(\.to) == [v1.id, v2.id, v3.id, v1.id])
        #expect(try store.moves().last?.from == v3.id && store.moves().last?.reason.hasPrefix("rollback") == true)
        #expect(try store.lineage(of: v3.id).map(\.id) == [v3.id, v2.id, v1.id])
        #expect(try store.version(String(v2.id.prefix(6))).checkpoint == checkpoint)

        // The database itself refuses changes to a version, and the journal is WAL.
        let database = try DatabaseQueue(path: url.path)
        #expect(throws: DatabaseError.self) { try database.write { try $0.execute(sql: "UPDATE version SET reason = 'edited'") } }
        #expect(throws: DatabaseError.self) { try database.write { try $0.execute(sql: "DELETE FROM version") } }
        #expect(try database.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") } == "wal")

        // Survives reopening; bad input is refused by name.
        let reopened = try VersionStore(path: url)
        #expect(try reopened.current()?.id == v1.id && reopened.versions().count == 3)
        #expect(throws: VersionStore.Failure.unknownVersion("ffff")) {
            try reopened.commit(configuration: "{}", checkpoint: nil, parent: "ffff", author: "x", kind: .person, reason: "orphan")
        }
        #expect(throws: VersionStore.Failure.self) { try reopened.commit(configuration: "[1, 2]", checkpoint: nil, parent: nil, author: "x", kind: .person, reason: "array") }
        #expect(throws: VersionStore.Failure.unknownVersion("0123456789abcdef")) { try reopened.point(to: "0123456789abcdef", reason: "typo") }
    }

    /// A version's id is the SHA-256 of its content: settings rewritten behind the table's back
    /// (the immutability trigger dropped first) no longer match it, and the store refuses to hand
    /// them out — so `tuner serve --versions` keeps serving what it last verified — and names the
    /// version. A store from before SHA-256 ids (16 hex digits) still verifies.
    @Test func settingsChangedBehindTheTablesBackAreRefused() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("versions.sqlite")
        let store = try VersionStore(path: url)
        let v1 = try store.commit(configuration: #"{"default": {"k": 10, "variant": "hybrid"}}"#, checkpoint: Data([1, 2, 3]), parent: nil,
                                  author: "alice", kind: .person, reason: "launch")
        try store.point(to: v1.id, reason: "launch")
        #expect(try store.tamperedVersions().isEmpty && store.current()?.id == v1.id)

        let queue = try DatabaseQueue(path: url.path)
        try queue.write { db in
            try db.execute(sql: "DROP TRIGGER versionImmutable")
            try db.execute(sql: #"UPDATE version SET configuration = '{"default":{"k":32,"variant":"dense"}}' WHERE id = ?"#, arguments: [v1.id])
        }
        #expect(throws: VersionStore.Failure.tampered(v1.id)) { try store.current() }
        #expect(throws: VersionStore.Failure.tampered(v1.id)) { try store.version(String(v1.id.prefix(8))) }
        #expect(try store.tamperedVersions() == [v1.id])

        // A legacy version: its 64-bit id over the same bytes.
        let legacy = "{\"default\":{\"k\":3}}"
        let legacyID = StableHash.hexDigest(Array(legacy.utf8) + [0, 0])  // configuration, no parent, no checkpoint
        try queue.write { db in
            try db.execute(sql: "INSERT INTO version (id, parent, author, authorKind, reason, created, configuration, checkpoint) VALUES (?, NULL, 'old', 'person', 'before sha-256', ?, ?, NULL)",
                           arguments: [legacyID, Date(), legacy])
        }
        #expect(try store.version(legacyID).configuration == legacy)
        #expect(try store.tamperedVersions() == [v1.id])
    }
}
