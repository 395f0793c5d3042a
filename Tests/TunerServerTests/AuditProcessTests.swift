import Foundation
import GRDB
import Testing
import Tracking

/// `tuner audit verify` and `tuner rsi deploy` as processes: a missing or emptied trail is not
/// reported intact, the head is printed and a kept head detects truncation, and a person moving
/// production leaves an audit record.
@Suite struct AuditProcessTests {
    @Test func verifyAnchorsTheHeadAndEveryMoveOfProductionIsAudited() throws {
        try #require(FileManager.default.isExecutableFile(atPath: ServeProcessTests.tuner.path), "no tuner binary at \(ServeProcessTests.tuner.path)")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("audit-process-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let versions = folder.appendingPathComponent("versions.sqlite"), experience = folder.appendingPathComponent("experience.sqlite")
        let config = folder.appendingPathComponent("loop.yaml")
        try "service_id: test\nversion: 1\nstores:\n  versions: \(versions.path)\n  experience: \(experience.path)\n".write(to: config, atomically: true, encoding: .utf8)
        let verify = ["audit", "verify", "--config", config.path]

        // Missing: refused, and not created by looking.
        let missing = try TrainProcessTests.refusal(verify)
        #expect(missing.status != 0 && missing.message.contains("a missing store is not an intact one"), "\(missing.message)")
        #expect(!FileManager.default.fileExists(atPath: experience.path))
        #expect(try TrainProcessTests.refusal(verify + ["--new"]).status == 0)

        // A person's deployment is audited.
        let store = try VersionStore(path: versions)
        let version = try store.commit(configuration: #"{"default": {"k": 5}}"#, checkpoint: nil, parent: nil, author: "ops", kind: .person, reason: "launch")
        let deploy = try TrainProcessTests.refusal(["rsi", "deploy", String(version.id.prefix(10)), "--reason", "launch", "--by", "ops",
                                                    "--store", versions.path, "--experience", experience.path])
        #expect(deploy.status == 0, "\(deploy.message)")
        let trail = try ExperienceStore(path: experience).audit
        let records = try trail.records()
        #expect(records.map(\.action) == ["deployment: deploy (by hand)"] && records.first?.actor == "ops" && records.first?.subject == version.id)
        try trail.append(action: "deployment: rollback", actor: "ops", subject: version.id, detail: "second")

        // The head is printed; kept, it tells a later verify that the newest record was removed.
        let (status, output, _) = try TrainProcessTests.run(verify)
        #expect(status == 0 && output.contains("audit trail intact: 2 records"), "\(output)")
        let head = try #require(output.split(separator: "\n").first { $0.hasPrefix("head: ") }.map { String($0.dropFirst(6).prefix { $0 != " " }) })
        #expect(head == (try trail.head())?.description)
        #expect(try TrainProcessTests.run(verify + ["--expect-head", head]).status == 0)
        let queue = try DatabaseQueue(path: experience.path)
        try queue.write { db in try db.execute(sql: "DELETE FROM audit WHERE sequence = 2") }
        let truncated = try TrainProcessTests.run(verify + ["--expect-head", head])
        #expect(truncated.status == 1 && truncated.output.contains("audit trail broken at record 2: the trail ends at record 1"), "\(truncated.output)")
        try queue.write { db in try db.execute(sql: "DELETE FROM audit") }
        #expect(try TrainProcessTests.refusal(verify).message.contains("is empty"))
    }
}
