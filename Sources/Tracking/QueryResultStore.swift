import Evaluators
import Foundation
import GRDB

/// What one question got under one configuration from one evaluator, as paid for once: the
/// protocol's result, keyed by evaluator and configuration, one column per field.
public struct QueryResultRecord: Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "query_result"
    /// `dataset@version` as the evaluator describes itself.
    public var evaluator: String
    /// The configuration's canonical JSON.
    public var configuration: String
    public var result: EvaluatorProtocol.QueryResult
    public var created: Date

    public init(evaluator: String, configuration: String, result: EvaluatorProtocol.QueryResult, created: Date = Date()) {
        self.evaluator = evaluator
        self.configuration = configuration
        self.result = result
        self.created = created
    }

    public init(row: Row) throws {
        evaluator = row["evaluator"]
        configuration = row["configuration"]
        result = EvaluatorProtocol.QueryResult(
            id: row["question"], category: row["category"], faithfulness: row["faithfulness"], relevancy: row["relevancy"],
            latencyMilliseconds: row["latencyMilliseconds"], costUSD: row["costUSD"], error: row["error"], violation: row["violation"])
        created = row["created"]
    }

    public func encode(to container: inout PersistenceContainer) throws {
        container["evaluator"] = evaluator
        container["configuration"] = configuration
        container["question"] = result.id
        container["category"] = result.category
        container["faithfulness"] = result.faithfulness
        container["relevancy"] = result.relevancy
        container["latencyMilliseconds"] = result.latencyMilliseconds
        container["costUSD"] = result.costUSD
        container["error"] = result.error
        container["violation"] = result.violation
        container["created"] = created
    }
}

/// Every per-question result the tuner has paid an evaluator for, in one SQLite database (WAL
/// mode) at `folder/results.sqlite` beside the run store: runs side by side on one `--out` folder
/// share it, and a resumed or repeated run asks only for what is not in it.
public final class QueryResultStore: Sendable {
    private let database: DatabasePool

    public init(folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        database = try SharedDatabase.open(folder.appendingPathComponent("results.sqlite"), migrator: Self.migrator)
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("results v1") { db in
            try db.create(table: "query_result") { t in
                t.column("evaluator", .text).notNull()
                t.column("configuration", .text).notNull()
                t.column("question", .text).notNull()
                t.column("category", .text).notNull()
                t.column("faithfulness", .double).notNull()
                t.column("relevancy", .double).notNull()
                t.column("latencyMilliseconds", .double).notNull()
                t.column("costUSD", .double).notNull()
                t.column("error", .boolean).notNull()
                t.column("violation", .boolean)
                t.column("created", .datetime).notNull()
                t.primaryKey(["evaluator", "configuration", "question"])
            }
        }
        return migrator
    }

    /// The kept results of `configuration` for `questions`, by question id.
    public func records(evaluator: String, configuration: String, questions: [String]) throws -> [String: QueryResultRecord] {
        try database.read { db in
            var found: [String: QueryResultRecord] = [:]
            // In slices: SQLite bounds the number of parameters of one statement.
            for start in stride(from: 0, to: questions.count, by: 500) {
                let slice = Array(questions[start..<min(start + 500, questions.count)])
                for record in try QueryResultRecord
                    .filter(Column("evaluator") == evaluator && Column("configuration") == configuration && slice.contains(Column("question")))
                    .fetchAll(db) {
                    found[record.result.id] = record
                }
            }
            return found
        }
    }

    /// Keeps `records` in one transaction; a result already kept stays as it was.
    public func save(_ records: [QueryResultRecord]) throws {
        try database.write { db in
            for record in records { try record.insert(db, onConflict: .ignore) }
        }
    }

    /// How many results are kept for `evaluator` (all evaluators when nil).
    public func count(evaluator: String? = nil) throws -> Int {
        try database.read { db in
            try evaluator.map { try QueryResultRecord.filter(Column("evaluator") == $0).fetchCount(db) } ?? QueryResultRecord.fetchCount(db)
        }
    }
}

extension QueryResultStore: ResultStore {
    public func results(evaluator: String, configuration: String, ids: [String]) throws -> [String: EvaluatorProtocol.QueryResult] {
        try records(evaluator: evaluator, configuration: configuration, questions: ids).mapValues(\.result)
    }

    public func save(evaluator: String, configuration: String, results: [EvaluatorProtocol.QueryResult]) throws {
        try save(results.map { QueryResultRecord(evaluator: evaluator, configuration: configuration, result: $0) })
    }
}
