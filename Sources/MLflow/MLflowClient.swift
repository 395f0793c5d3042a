import Foundation
import Scoring

/// The parts of an MLflow tracking server's REST API (`/api/2.0/mlflow`, and
/// `/api/2.0/mlflow-artifacts` for artifacts the server stores) that exporting a run needs, with
/// the timeouts, bounded retries and size limit of every outbound call (``JSONPost``).
public struct MLflowClient: Sendable {
    public let server: URL
    let http: JSONPost

    public init(server: URL, timeout: TimeInterval = 30) {
        self.server = server
        http = JSONPost(url: server, peer: "MLflow at \(server.absoluteString)", timeout: timeout, maxResponseBytes: 64 << 20)
    }

    public struct RunInfo: Codable, Sendable, Equatable {
        public var runID: String
        public var experimentID: String
        public var status: String?
        public var artifactURI: String?

        enum CodingKeys: String, CodingKey {
            case status
            case runID = "run_id", experimentID = "experiment_id", artifactURI = "artifact_uri"
        }
    }

    public struct KeyValue: Codable, Sendable, Equatable, Hashable {
        public var key: String
        public var value: String
    }

    public struct Metric: Codable, Sendable, Equatable {
        public var key: String
        public var value: Double
        /// Milliseconds since 1970.
        public var timestamp: Int64
        public var step: Int64
    }

    public struct Run: Codable, Sendable {
        public struct Data: Codable, Sendable {
            public var params: [KeyValue]?
            public var tags: [KeyValue]?
            public var metrics: [Metric]?
        }
        public var info: RunInfo
        public var data: Data
    }

    // MARK: Calls

    func url(_ path: String, _ query: [String: String] = [:]) -> URL {
        var components = URLComponents(url: server.appendingPathComponent("api/2.0/" + path), resolvingAgainstBaseURL: false)!
        if !query.isEmpty { components.queryItems = query.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) } }
        return components.url!
    }

    func post<Body: Encodable, Answer: Decodable>(_ path: String, _ body: Body, as: Answer.Type) async throws -> Answer {
        let data = try await http.send(method: "POST", to: url("mlflow/" + path), body: try JSONEncoder().encode(body))
        return try JSONDecoder().decode(Answer.self, from: data)
    }

    struct Empty: Codable {}

    /// The id of experiment `name`, created when absent.
    public func experimentID(named name: String) async throws -> String {
        struct Found: Decodable {
            struct Experiment: Decodable { var experiment_id: String }
            var experiment: Experiment
        }
        struct Created: Decodable { var experiment_id: String }
        do {
            let data = try await http.get(url("mlflow/experiments/get-by-name", ["experiment_name": name]))
            return try JSONDecoder().decode(Found.self, from: data).experiment.experiment_id
        } catch let JSONPost.Failure.status(_, code, body) where code == 404 && body.contains("RESOURCE_DOES_NOT_EXIST") {
            return try await post("experiments/create", ["name": name], as: Created.self).experiment_id
        }
    }

    /// The runs of `experiment` whose tag `key` is `value`.
    public func runs(experiment: String, tag key: String, value: String) async throws -> [Run] {
        struct Search: Encodable {
            var experiment_ids: [String]
            var filter: String
            var max_results = 10
        }
        struct Found: Decodable { var runs: [Run]? }
        let quoted = value.replacingOccurrences(of: "'", with: "\\'")
        return try await post("runs/search", Search(experiment_ids: [experiment], filter: "tags.`\(key)` = '\(quoted)'"), as: Found.self).runs ?? []
    }

    public func run(_ id: String) async throws -> Run {
        struct Found: Decodable { var run: Run }
        return try JSONDecoder().decode(Found.self, from: try await http.get(url("mlflow/runs/get", ["run_id": id]))).run
    }

    public func createRun(experiment: String, name: String, startTime: Int64, tags: [KeyValue]) async throws -> RunInfo {
        struct Create: Encodable {
            var experiment_id: String
            var run_name: String
            var start_time: Int64
            var tags: [KeyValue]
        }
        struct Created: Decodable { var run: Run }
        return try await post("runs/create", Create(experiment_id: experiment, run_name: name, start_time: startTime, tags: tags), as: Created.self).run.info
    }

    /// Logs metrics, params and tags in as many batches as the server's limits ask (1,000
    /// metrics, 100 params, 100 tags a request).
    public func logBatch(run: String, metrics: [Metric] = [], params: [KeyValue] = [], tags: [KeyValue] = []) async throws {
        struct Batch: Encodable {
            var run_id: String
            var metrics: [Metric]
            var params: [KeyValue]
            var tags: [KeyValue]
        }
        func chunks<T>(_ items: [T], _ size: Int) -> [[T]] { stride(from: 0, to: items.count, by: size).map { Array(items[$0..<min($0 + size, items.count)]) } }
        for chunk in chunks(metrics, 1000) { _ = try await post("runs/log-batch", Batch(run_id: run, metrics: chunk, params: [], tags: []), as: Empty.self) }
        for chunk in chunks(params, 100) { _ = try await post("runs/log-batch", Batch(run_id: run, metrics: [], params: chunk, tags: []), as: Empty.self) }
        for chunk in chunks(tags, 100) { _ = try await post("runs/log-batch", Batch(run_id: run, metrics: [], params: [], tags: chunk), as: Empty.self) }
    }

    /// Every value logged for metric `key` of `run`.
    public func history(run: String, key: String) async throws -> [Metric] {
        struct History: Decodable { var metrics: [Metric]? }
        let data = try await http.get(url("mlflow/metrics/get-history", ["run_id": run, "metric_key": key, "max_results": "25000"]))
        return try JSONDecoder().decode(History.self, from: data).metrics ?? []
    }

    public func setStatus(run: String, status: String, endTime: Int64?) async throws {
        struct Update: Encodable {
            var run_id: String
            var status: String
            var end_time: Int64?
        }
        _ = try await post("runs/update", Update(run_id: run, status: status, end_time: endTime), as: Empty.self)
    }

    /// Where the server keeps `run`'s artifact `path`, when it serves artifacts itself
    /// (`mlflow-artifacts:` URIs, the default of `mlflow server`).
    func artifactURL(_ run: RunInfo, _ path: String) throws -> URL {
        guard let uri = run.artifactURI, uri.hasPrefix("mlflow-artifacts:") else {
            throw Failure.artifactStore(run.artifactURI ?? "none")
        }
        var location = String(uri.dropFirst("mlflow-artifacts:".count))
        while location.hasPrefix("/") { location.removeFirst() }
        return url("mlflow-artifacts/artifacts/\(location)/\(path)")
    }

    public func upload(_ data: Foundation.Data, run: RunInfo, path: String) async throws {
        _ = try await http.send(method: "PUT", to: try artifactURL(run, path), body: data, contentType: "application/octet-stream")
    }

    public func download(run: RunInfo, path: String) async throws -> Foundation.Data { try await http.get(try artifactURL(run, path)) }

    /// The artifact paths at the root of `run`'s artifacts.
    public func artifacts(run: String) async throws -> [String] {
        struct Listing: Decodable {
            struct File: Decodable { var path: String }
            var files: [File]?
        }
        let data = try await http.get(url("mlflow/artifacts/list", ["run_id": run]))
        return try JSONDecoder().decode(Listing.self, from: data).files?.map(\.path) ?? []
    }

    public enum Failure: Error, CustomStringConvertible {
        case artifactStore(String)
        public var description: String {
            switch self {
            case let .artifactStore(uri):
                "the MLflow server keeps artifacts at '\(uri)', which it does not serve: start it with artifact serving (the default of `mlflow server`)"
            }
        }
    }
}
