import Foundation
import Synchronization

/// The policy a service serves, replaceable while requests are in flight.
///
/// A request takes the current policy once and finishes on it; ``reload(contentsOf:)`` loads and
/// verifies the new checkpoint before the swap, so a bad file leaves the running policy serving
/// and the error says what was wrong.
///
/// ```swift
/// let handle = try PolicyHandle(contentsOf: checkpointURL)
/// let decision = handle.decide(context)               // from any thread
/// try handle.reload(contentsOf: newCheckpointURL)     // e.g. on SIGHUP
/// ```
public final class PolicyHandle: Sendable {
    private let slot: Mutex<RAGPolicy>

    public init(_ policy: RAGPolicy) {
        slot = Mutex(policy)
    }

    public convenience init(contentsOf url: URL) throws {
        self.init(try RAGPolicy(contentsOf: url))
    }

    /// The policy serving now.
    public var current: RAGPolicy { slot.withLock { $0 } }

    /// Decides with the policy serving now (the decision names its version).
    public func decide(_ context: PolicyContext, mode: RAGPolicy.Mode = .deterministic) -> Decision {
        current.decide(context, mode: mode)
    }

    /// Puts `policy` in service and returns the one it replaced.
    @discardableResult
    public func replace(with policy: RAGPolicy) -> RAGPolicy {
        slot.withLock { old in
            defer { old = policy }
            return old
        }
    }

    /// Loads, verifies and then serves the checkpoint at `url`; on any error nothing changes.
    @discardableResult
    public func reload(contentsOf url: URL) throws -> RAGPolicy {
        replace(with: try RAGPolicy(contentsOf: url))
    }
}
