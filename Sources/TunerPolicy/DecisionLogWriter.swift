import Foundation
import NumericCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Appends ``DecisionLogEntry`` lines to a file, from any number of threads. Each line goes out
/// in one `write(2)` on a descriptor opened with `O_APPEND`, so lines never interleave, even
/// between processes sharing the file; `sync()` forces them to disk.
public final class DecisionLogWriter: Sendable {
    public let url: URL
    private let descriptor: Mutex<Int32>

    public enum WriteError: Error, CustomStringConvertible {
        case open(path: String, errno: Int32)
        case write(path: String, errno: Int32)
        public var description: String {
            switch self {
            case let .open(path, code): "\(path): cannot open the decision log: \(String(cString: strerror(code)))"
            case let .write(path, code): "\(path): cannot append to the decision log: \(String(cString: strerror(code)))"
            }
        }
    }

    public init(url: URL) throws {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw WriteError.open(path: url.path, errno: errno) }
        self.url = url
        descriptor = Mutex(fd)
    }

    deinit {
        descriptor.withLock { fd in _ = close(fd) }
    }

    public func append(_ entry: DecisionLogEntry) throws {
        var line = try JSONEncoder.sorted.encode(entry)
        line.append(UInt8(ascii: "\n"))
        try descriptor.withLock { fd in
            try line.withUnsafeBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw WriteError.write(path: url.path, errno: errno)
                    }
                    offset += written
                }
            }
        }
    }

    /// Logs a decision made by `policy` for `context` (the features are rebuilt for the line).
    public func append(_ decision: Decision, requestID: String, context: PolicyContext, policy: RAGPolicy,
                       arm: TrafficSplit.Arm? = nil, sampled: Bool = false, question: String? = nil, at date: Date = Date()) throws {
        try append(DecisionLogEntry(decision: decision, requestID: requestID, context: context,
                                    features: policy.features.features(context, layout: policy.layout),
                                    arm: arm, sampled: sampled, question: question, at: date))
    }

    public func append(outcome: DecisionOutcome, requestID: String, at date: Date = Date()) throws {
        try append(DecisionLogEntry(outcome: outcome, requestID: requestID, at: date))
    }

    /// Flushes what was written to stable storage.
    public func sync() throws {
        try descriptor.withLock { fd in
            guard fsync(fd) == 0 else { throw WriteError.write(path: url.path, errno: errno) }
        }
    }
}
