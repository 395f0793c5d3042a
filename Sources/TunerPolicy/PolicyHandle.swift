import Foundation
import Synchronization

/// The policy a service serves, replaceable while requests are in flight.
///
/// A request takes the current policy once and finishes on it; ``reload(contentsOf:)`` loads and
/// verifies the new checkpoint before the swap, so a bad file leaves the running policy serving
/// and the error says what was wrong. A handle made with an admission check runs it on every
/// file it loads, the first included: what a server refuses at start it refuses on reload too.
///
/// ```swift
/// let handle = try PolicyHandle(contentsOf: checkpointURL)
/// let decision = handle.decide(context)               // from any thread
/// try handle.reload(contentsOf: newCheckpointURL)     // e.g. on SIGHUP
/// ```
public final class ServedHandle<Served: FileServable>: Sendable {
    private let slot: Mutex<Served>
    /// The checkpoint file the handle was loaded from, which ``reload()`` reads again.
    public let source: URL?
    private let admit: @Sendable (Served) throws -> Void

    public init(_ policy: Served) {
        slot = Mutex(policy)
        source = nil
        admit = { _ in }
    }

    /// Loads the checkpoint at `url`; `admit` throws for a verified file this server still cannot serve.
    public init(contentsOf url: URL, admitting admit: @escaping @Sendable (Served) throws -> Void = { _ in }) throws {
        let served = try Served(contentsOf: url)
        try admit(served)
        slot = Mutex(served)
        source = url
        self.admit = admit
    }

    /// The policy serving now.
    public var current: Served { slot.withLock { $0 } }

    /// Puts `policy` in service and returns the one it replaced.
    @discardableResult
    public func replace(with policy: Served) -> Served {
        slot.withLock { old in
            defer { old = policy }
            return old
        }
    }

    /// Loads, verifies, admits and then serves the checkpoint at `url`; on any error nothing changes.
    @discardableResult
    public func reload(contentsOf url: URL) throws -> Served {
        let served = try Served(contentsOf: url)
        try admit(served)
        return replace(with: served)
    }

    /// Reads the handle's own checkpoint file again (after an operator replaced it), as
    /// ``reload(contentsOf:)`` does; a handle made from a policy in memory has nothing to read.
    @discardableResult
    public func reload() throws -> Served {
        guard let source else { throw ReloadError.noSource }
        return try reload(contentsOf: source)
    }

    public enum ReloadError: Error, CustomStringConvertible {
        case noSource
        public var description: String { "the policy was not loaded from a checkpoint file, so there is nothing to reload" }
    }
}

/// What a ``ServedHandle`` serves: loaded and verified from a file, named by a content hash.
public protocol FileServable: AnyObject, Sendable {
    init(contentsOf url: URL) throws
    /// A content hash of the file: which one made a logged decision.
    var version: String { get }
}

extension RAGPolicy: FileServable {}

/// The RAG policy a service serves.
public typealias PolicyHandle = ServedHandle<RAGPolicy>

extension ServedHandle where Served == RAGPolicy {
    /// Decides with the policy serving now (the decision names its version).
    public func decide(_ context: PolicyContext, mode: RAGPolicy.Mode = .deterministic) -> Decision {
        current.decide(context, mode: mode)
    }
}
