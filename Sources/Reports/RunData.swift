import Evaluators
import Foundation
import Tracking
import TrainingRuns

/// What the report draws of one run, read from its store: the record, the verdict, the metrics
/// per update and the CSV artifacts a finished offline run leaves (``RunArtifacts``).
public struct RunData: Sendable {
    /// One configuration on the test split.
    public struct Point: Sendable, Equatable {
        public var name: String
        public var faithfulness: Double
        public var relevancy: Double
        public var latencyP95Milliseconds: Double
        public var costUSD: Double
        public var reward: Double
        public var gatesPassed: Bool
        /// Quality as the scatter plots it: the mean of faithfulness and relevancy.
        public var quality: Double { (faithfulness + relevancy) / 2 }

        public init(name: String, faithfulness: Double, relevancy: Double, latencyP95Milliseconds: Double, costUSD: Double, reward: Double, gatesPassed: Bool) {
            self.name = name
            self.faithfulness = faithfulness
            self.relevancy = relevancy
            self.latencyP95Milliseconds = latencyP95Milliseconds
            self.costUSD = costUSD
            self.reward = reward
            self.gatesPassed = gatesPassed
        }
    }

    /// One value of one head in one category: how often the learned policy takes it and the
    /// category's train reward when it does.
    public struct ActionShare: Sendable, Equatable {
        public var category: String
        public var head: String
        public var value: String
        public var share: Double
        public var trainReward: Double
    }

    public var record: RunRecord
    public var report: RunReport?
    /// Metric name → (update, value), in update order.
    public var metrics: [String: [(update: Int, value: Double)]]
    /// Every grid configuration (empty for a run that left no grid, e.g. against an evaluator).
    public var grid: [Point]
    /// learned_policy, default_static, best_static, oracle: as summary.csv names them.
    public var references: [Point]
    public var actions: [ActionShare]
    /// The windows of a canary that proved the run's policy (`tuner canary --run`).
    public var canary: [CanaryController.Evaluation]

    public enum Failure: Error, CustomStringConvertible {
        case badArtifact(file: String, line: Int, reason: String)
        case badVerdict(run: String, reason: String)

        public var description: String {
            switch self {
            case let .badArtifact(file, line, reason): "\(file):\(line): \(reason)"
            case let .badVerdict(run, reason): "run \(run): its stored verdict cannot be read: \(reason)"
            }
        }
    }

    /// Reads run `id` (or a unique prefix) from `store`.
    public init(run id: String, store: RunStore) throws {
        record = try store.run(id)
        let runID = record.id
        if let verdict = record.verdict {
            do { report = try JSONDecoder().decode(RunReport.self, from: Data(verdict.utf8)) } catch {
                throw Failure.badVerdict(run: runID, reason: "\(error)")
            }
        }
        metrics = [:]
        for m in try store.metrics(run: record.id) { metrics[m.name, default: []].append((m.update, m.value)) }
        let files = Dictionary(try store.artifacts(run: record.id).map { ($0.name, store.folder.appendingPathComponent($0.path)) },
                               uniquingKeysWith: { a, _ in a })
        func table(_ name: String) throws -> CSVTable? {
            guard let url = files[name], FileManager.default.fileExists(atPath: url.path) else { return nil }
            return try CSVTable(contentsOf: url)
        }
        grid = try table("grid").map { t in
            try t.rows.indices.map { i in
                try Point(name: "\(t.string(i, "variant")) k=\(t.string(i, "k")) rerank=\(t.string(i, "rerank")) "
                          + "w=\(t.string(i, "fusion_weight")) \(t.string(i, "template"))", table: t, row: i)
            }
        } ?? []
        references = try table("summary").map { t in try t.rows.indices.map { i in try Point(name: t.string(i, "configuration"), table: t, row: i) } } ?? []
        actions = try table("actions").map { t in
            try t.rows.indices.map { i in
                ActionShare(category: try t.string(i, "category"), head: try t.string(i, "head"), value: try t.string(i, "value"),
                            share: try t.number(i, "share"), trainReward: try t.number(i, "train_reward"))
            }
        } ?? []
        canary = try files["canary"].map { try CanaryRecord.read($0) } ?? []
    }

    /// The run's metric `name` by update.
    public func series(_ name: String) -> [(Double, Double)] { (metrics[name] ?? []).map { (Double($0.update), $0.value) } }
}

extension RunData.Point {
    init(name: String, table t: CSVTable, row i: Int) throws {
        self.init(
            name: name, faithfulness: try t.number(i, "faithfulness"), relevancy: try t.number(i, "relevancy"),
            latencyP95Milliseconds: try t.number(i, "latency_p95_ms"), costUSD: try t.number(i, "cost_usd"), reward: try t.number(i, "reward"),
            gatesPassed: try t.string(i, "gates_passed") == "true")
    }
}

/// A CSV file with a header line, as the run artifacts write it (no quoted fields).
struct CSVTable {
    let file: String
    let header: [String]
    let rows: [[String]]

    init(contentsOf url: URL) throws {
        file = url.path
        let lines = String(decoding: try Data(contentsOf: url), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true)
        guard let first = lines.first else { throw RunData.Failure.badArtifact(file: file, line: 1, reason: "empty file, a header line was expected") }
        header = first.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        var rows: [[String]] = []
        for (n, line) in lines.dropFirst().enumerated() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == header.count else {
                throw RunData.Failure.badArtifact(file: file, line: n + 2, reason: "\(fields.count) fields where the header has \(header.count)")
            }
            rows.append(fields)
        }
        self.rows = rows
    }

    func string(_ row: Int, _ column: String) throws -> String {
        guard let c = header.firstIndex(of: column) else {
            throw RunData.Failure.badArtifact(file: file, line: 1, reason: "no column '\(column)'")
        }
        return rows[row][c]
    }

    /// A number; a missing one (an empty field) is NaN, text that is not a number is an error.
    func number(_ row: Int, _ column: String) throws -> Double {
        let text = try string(row, column)
        if text.isEmpty { return .nan }
        guard let value = Double(text) else {
            throw RunData.Failure.badArtifact(file: file, line: row + 2, reason: "'\(text)' in column '\(column)' is not a number")
        }
        return value
    }
}
