import Foundation
import Retrieval

/// The real datasets beside the repository (`../shared/datasets`), loaded once per process.
enum SharedDatasets {
    static let root: URL = {
        if let override = ProcessInfo.processInfo.environment["RAGTUNER_DATASETS"] { return URL(fileURLWithPath: override) }
        return URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/datasets")
    }()

    static func folder(_ name: String) -> URL { root.appendingPathComponent(name) }

    nonisolated(unsafe) private static var loaded: [String: Dataset] = [:]
    private static let lock = NSLock()

    static func load(_ name: String) throws -> Dataset {
        lock.lock()
        defer { lock.unlock() }
        if let cached = loaded[name] { return cached }
        let dataset = try DatasetLoader(folder: folder(name)).load()
        loaded[name] = dataset
        return dataset
    }
}
