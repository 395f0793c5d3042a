import Foundation
import GRDB
import Testing
import Tracking

@Suite struct AuditTrailTests {
    static func store() throws -> ExperienceStore {
        try ExperienceStore(path: FileManager.default.temporaryDirectory.appendingPathComponent("audit-\(UUID().uuidString).sqlite"))
    }

    static func fill(_ store: ExperienceStore) throws {
        for (action, subject) in [("review: approved", "H1"), ("deployment: rollout", "C1"), ("deployment: promote", "C1"), ("deployment: rollback", "C2")] {
            try store.audit.append(action: action, actor: "tuner", subject: subject, detail: "\(action) of \(subject)")
        }
    }

    @Test func anUntouchedChainVerifiesAndEachLinkNamesTheHashBefore() throws {
        let store = try Self.store()
        try Self.fill(store)
        let records = try store.audit.records()
        #expect(try store.audit.verify() == .intact(records: 4))
        #expect(records[0].previousHash == AuditTrail.genesis)
        for (a, b) in zip(records, records.dropFirst()) { #expect(b.previousHash == a.hash && a.hash.count == 64) }
    }

    @Test func anAlteredRecordIsTheFirstBrokenLink() throws {
        let store = try Self.store()
        try Self.fill(store)
        let queue = try DatabaseQueue(path: store.path.path)
        try queue.write { db in try db.execute(sql: "UPDATE audit SET detail = 'nothing happened' WHERE sequence = 2") }
        #expect(try store.audit.verify() == .broken(sequence: 2, reason: "its content no longer matches its hash (altered after it was written)"))
    }

    @Test func aRecordRewrittenWithAFreshHashBreaksTheNextLink() throws {
        let store = try Self.store()
        try Self.fill(store)
        let queue = try DatabaseQueue(path: store.path.path)
        // A tamperer who also recomputes the altered record's own hash (with SHA-256 over anything) still breaks the chain after it.
        try queue.write { db in try db.execute(sql: "UPDATE audit SET detail = 'x', hash = '\(String(repeating: "ab", count: 32))' WHERE sequence = 2") }
        guard case let .broken(sequence, _) = try store.audit.verify() else { Issue.record("tampering went unnoticed"); return }
        #expect(sequence == 2)
        try queue.write { db in try db.execute(sql: "DELETE FROM audit WHERE sequence = 2") }
        #expect(try store.audit.verify() == .broken(sequence: 3, reason: "expected record 2 here: a record was removed or inserted"))
    }

    /// The head kept from an earlier look tells a trail whose newest records were removed — or
    /// all of them — from an intact one, which a walk of the chain alone cannot.
    @Test func aKeptHeadDetectsTruncation() throws {
        let store = try Self.store()
        try Self.fill(store)
        let head = try #require(try store.audit.head())
        #expect(head.sequence == 4 && AuditTrail.Head(head.description) == head)
        #expect(try store.audit.verify(expecting: head) == .intact(records: 4))
        let queue = try DatabaseQueue(path: store.path.path)
        try queue.write { db in try db.execute(sql: "DELETE FROM audit WHERE sequence = 4") }
        #expect(try store.audit.verify() == .intact(records: 3), "the chain alone cannot see it")
        #expect(try store.audit.verify(expecting: head) == .broken(sequence: 4, reason: "the trail ends at record 3: the records after it were removed"))
        try queue.write { db in try db.execute(sql: "DELETE FROM audit") }
        #expect(try store.audit.head() == nil)
        #expect(try store.audit.verify(expecting: head) == .broken(sequence: 4, reason: "the trail ends at record 0: the records after it were removed"))
        // A record appended in the removed one's place is another record.
        for _ in 0..<4 { try store.audit.append(action: "deployment: rollout", actor: "tuner", subject: "C9", detail: "forged") }
        guard case .broken(4, let reason) = try store.audit.verify(expecting: head) else { Issue.record("a rewritten trail passed"); return }
        #expect(reason.contains("the trail was rewritten"))
        #expect(AuditTrail.Head("4:XYZ") == nil && AuditTrail.Head("x:\(head.hash)") == nil)
    }
}
