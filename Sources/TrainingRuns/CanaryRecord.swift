import Evaluators
import Foundation
import Tracking

/// A canary's windows kept with the training run whose policy it proves (`tuner canary --run`):
/// one JSON line per evaluation window in `<run>/canary.jsonl`, the run's artifact "canary", so
/// the run's report overlays the candidate on the baseline window by window.
public enum CanaryRecord {
    public static let file = "canary.jsonl"

    /// Appends `evaluation` as one line (a whole line per write: a reader never sees half of one).
    public static func append(_ evaluation: CanaryController.Evaluation, run id: String, store: RunStore) throws {
        let url = store.runFolder(id).appendingPathComponent(file)
        if !FileManager.default.fileExists(atPath: url.path) {
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path]) }
            try store.addArtifact(run: id, name: "canary", file: file)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: try encoder.encode(evaluation) + Data("\n".utf8))
    }

    public struct Failure: Error, CustomStringConvertible {
        public var file: String
        public var line: Int
        public var reason: String
        public var description: String { "\(file):\(line): \(reason)" }
    }

    /// Every window in `url`, in order; a line that is not a window is refused with its number.
    public static func read(_ url: URL) throws -> [CanaryController.Evaluation] {
        let lines = String(decoding: try Data(contentsOf: url), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        var windows: [CanaryController.Evaluation] = []
        for (n, line) in lines.enumerated() where !line.isEmpty {
            do { windows.append(try JSONDecoder().decode(CanaryController.Evaluation.self, from: Data(line.utf8))) } catch {
                throw Failure(file: url.path, line: n + 1, reason: "not a canary window: \(error)")
            }
        }
        return windows
    }
}
