import Evaluators
import Foundation
import GRDB

/// What one question got under one configuration from one evaluator, as paid for once.
public struct QueryResultRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "query_result"
    /// `dataset@version` as the evaluator describes itself.
    public var evaluator: String
    /// The configuration's canonical JSON.
    public var configuration: String
    public var question: String
    public var category: String
    public var faithfulness: Double
    public var relevancy: Double
    public var latencyMilliseconds: Double
    public var costUSD: Double
    public var error: Bool
    public var violation: Bool?
    public var created: Date

    public init(evaluator: String, configuration: String, question: String, category: String, faithfulness: Double, relevancy: Double,
                latencyMilliseconds: Double, costUSD: Double, error: Bool, violation: Bool?, created: Date = Date()) {
        self.evaluator = evaluator
        self.configuration = configuration
        self.question = question
        self.category = category
        self.faithfulness = faithfulness
        self.relevancy = relevancy
        self.latencyMilliseconds = latencyMilliseconds
        self.costUSD = costUSD
        self.error = error
        self.violation = violation
        self.created = created
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
                    found[record.question] = record
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
        try records(evaluator: evaluator, configuration: configuration, questions: ids).mapValues {
            EvaluatorProtocol.QueryResult(id: $0.question, category: $0.category, faithfulness: $0.faithfulness, relevancy: $0.relevancy,
                                          latencyMilliseconds: $0.latencyMilliseconds, costUSD: $0.costUSD, error: $0.error, violation: $0.violation)
        }
    }

    public func save(evaluator: String, configuration: String, results: [EvaluatorProtocol.QueryResult]) throws {
        try save(results.map {
            QueryResultRecord(evaluator: evaluator, configuration: configuration, question: $0.id, category: $0.category, faithfulness: $0.faithfulness,
                              relevancy: $0.relevancy, latencyMilliseconds: $0.latencyMilliseconds, costUSD: $0.costUSD, error: $0.error,
                              violation: $0.violation)
        })
    }
}
