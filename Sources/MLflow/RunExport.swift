import Foundation
import Tracking
import TrainingRuns

/// A tracked run exported to MLflow: experiment `rl_autotuner` (created when absent), one MLflow
/// run per tuner run (found again by its `tuner.run_id` tag, so a second export updates it and
/// never duplicates), the run's settings as params (each category's served configuration as
/// `<category>.variant`, `.k`, `.rerank`, `.fusion_weight`, `.prompt_id`), its per-update metrics
/// with their steps and times (only the steps MLflow lacks are sent), the verdict's test figures,
/// its artifacts, and its status.
public struct RunExport: Sendable {
    public static let experiment = "rl_autotuner"
    public static let runTag = "tuner.run_id"

    public let client: MLflowClient
    public let store: RunStore

    public init(client: MLflowClient, store: RunStore) {
        self.client = client
        self.store = store
    }

    /// What one export sent.
    public struct Result: Sendable, Equatable {
        public var mlflowRunID: String
        public var experimentID: String
        public var created: Bool
        public var metricsSent: Int
        public var params: Int
        public var artifacts: [String]
    }

    /// Exports run `id` (or a unique prefix); `artifacts: false` sends only what changes while
    /// a run trains (metrics, status).
    @discardableResult
    public func export(run id: String, artifacts: Bool = true) async throws -> Result {
        let record = try store.run(id)
        let experimentID = try await client.experimentID(named: Self.experiment)
        let found = try await client.runs(experiment: experimentID, tag: Self.runTag, value: record.id)
        let created = found.isEmpty
        let run: MLflowClient.RunInfo
        if let existing = found.first?.info {
            run = existing
        } else {
            run = try await client.createRun(experiment: experimentID, name: record.id, startTime: Self.milliseconds(record.created), tags: [])
        }
        let report = record.verdict.flatMap { try? JSONDecoder().decode(RunReport.self, from: Data($0.utf8)) }

        let params = Self.params(record, report)
        try await client.logBatch(run: run.runID, params: params, tags: Self.tags(record, status: store.status(of: record)))

        var metrics: [MLflowClient.Metric] = []
        let logged = try store.metrics(run: record.id)
        let byName = Dictionary(grouping: logged, by: \.name)
        let lastUpdate = logged.map(\.update).max() ?? 0
        let finals = Self.finalMetrics(report)
        for name in Set(byName.keys).union(finals.keys).sorted() {
            let sent = Set(try await client.history(run: run.runID, key: name).map(\.step))
            for m in byName[name] ?? [] where !sent.contains(Int64(m.update)) {
                metrics.append(.init(key: name, value: m.value, timestamp: Self.milliseconds(m.time ?? record.created), step: Int64(m.update)))
            }
            if let value = finals[name], !sent.contains(Int64(lastUpdate + 1)) {
                let end = record.created.addingTimeInterval(record.wallSeconds ?? 0)
                metrics.append(.init(key: name, value: value, timestamp: Self.milliseconds(end), step: Int64(lastUpdate + 1)))
            }
        }
        try await client.logBatch(run: run.runID, metrics: metrics)

        var uploaded: [String] = []
        if artifacts {
            for artifact in try store.artifacts(run: record.id) {
                let file = store.folder.appendingPathComponent(artifact.path)
                guard FileManager.default.fileExists(atPath: file.path) else { continue }
                try await client.upload(try Data(contentsOf: file), run: run, path: file.lastPathComponent)
                uploaded.append(file.lastPathComponent)
            }
        }
        let status = Self.status(store.status(of: record))
        let end = status == "RUNNING" ? nil : Self.milliseconds(record.created.addingTimeInterval(record.wallSeconds ?? 0))
        try await client.setStatus(run: run.runID, status: status, endTime: end)
        return Result(mlflowRunID: run.runID, experimentID: experimentID, created: created, metricsSent: metrics.count, params: params.count,
                      artifacts: uploaded)
    }

    // MARK: What goes where

    /// The run's settings: dataset, seed, every hyperparameter (flattened, dotted), and each
    /// category's served configuration once judged.
    static func params(_ record: RunRecord, _ report: RunReport?) -> [MLflowClient.KeyValue] {
        var params: [String: String] = ["dataset_id": record.datasetID, "seed": String(record.seed)]
        if let settings = try? JSONDecoder().decode(JSONValue.self, from: Data(record.hyperparameters.utf8)) { settings.flatten(prefix: "", into: &params) }
        for (category, c) in report?.test.policyConfigs ?? [:] {
            for (knob, value) in c.values { params["\(sanitised(category)).\(sanitised(knob))"] = "\(value)" }
        }
        // MLflow keeps params of up to 6,000 characters.
        return params.sorted { $0.key < $1.key }.map { .init(key: $0.key, value: String($0.value.prefix(6000))) }
    }

    /// A key MLflow accepts: letters, digits, `_ - . / ` and spaces.
    static func sanitised(_ key: String) -> String {
        String(key.map { $0.isLetter || $0.isNumber || "_-./ ".contains($0) ? $0 : "_" })
    }

    static func tags(_ record: RunRecord, status: String) -> [MLflowClient.KeyValue] {
        var tags: [String: String] = [
            runTag: record.id, "mlflow.runName": record.id, "mlflow.source.name": "tuner", "tuner.command": record.command,
            "tuner.status": status, "tuner.project_version": record.projectVersion,
            "tuner.policy_configuration_hash": record.policyConfigurationHash, "tuner.dataset_path": record.datasetPath,
        ]
        if let commit = record.datasetCommit { tags["tuner.dataset_commit"] = commit }
        return tags.sorted { $0.key < $1.key }.map { .init(key: $0.key, value: String($0.value.prefix(5000))) }
    }

    /// The verdict's figures on the held-out split, logged once after the last update.
    static func finalMetrics(_ report: RunReport?) -> [String: Double] {
        guard let test = report?.test else { return [:] }
        var metrics: [String: Double] = [
            "test_reward": test.policyReward, "default_static_reward": test.defaultStaticReward,
            "gain_vs_default": test.gainVsDefault.mean, "gain_vs_default_ci_low": test.gainVsDefault.ciLow,
            "gain_vs_default_ci_high": test.gainVsDefault.ciHigh, "gate_violations": Double(test.gateViolations.count),
        ]
        if let p = test.policy {
            metrics["faithfulness"] = p.faithfulness
            metrics["relevancy"] = p.relevancy
            metrics["p95_latency"] = p.latencyP95Milliseconds
            metrics["cost_usd"] = p.costUSD
        }
        if let best = test.bestStaticReward { metrics["best_static_reward"] = best }
        if let oracle = test.oracleReward { metrics["oracle_reward"] = oracle }
        if let g = test.gainVsBestStatic {
            metrics["gain_vs_best_static"] = g.mean
            metrics["gain_vs_best_static_ci_low"] = g.ciLow
            metrics["gain_vs_best_static_ci_high"] = g.ciHigh
        }
        return metrics.filter { $0.value.isFinite }
    }

    static func status(_ tunerStatus: String) -> String {
        switch tunerStatus {
        case "finished": "FINISHED"
        case "failed", "died": "FAILED"
        case "interrupted": "KILLED"
        default: "RUNNING"
        }
    }

    static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }
}

/// Any JSON value, to flatten a run's settings into dotted params.
enum JSONValue: Decodable {
    case bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue]), null

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    var text: String {
        switch self {
        case let .bool(b): String(b)
        case let .number(n): n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(n)
        case let .string(s): s
        case let .array(a): "[" + a.map(\.text).joined(separator: ",") + "]"
        case let .object(o): "{" + o.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value.text)" }.joined(separator: ",") + "}"
        case .null: "null"
        }
    }

    /// Leaves as `prefix.key` params; arrays stay one param.
    func flatten(prefix: String, into params: inout [String: String]) {
        guard case let .object(object) = self else {
            params[prefix] = text
            return
        }
        for (key, inner) in object {
            let name = RunExport.sanitised(key)
            inner.flatten(prefix: prefix.isEmpty ? name : "\(prefix).\(name)", into: &params)
        }
    }
}
