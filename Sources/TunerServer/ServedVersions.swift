import Foundation
import NumericCore
import RSI
import Synchronization
import Tracking
import TunerPolicy

/// What `tuner serve --versions` serves: the production version's configuration and, during a
/// rollout, the candidate's for its share of requests (split by a stable hash of the request id,
/// as ``TrafficSplit`` splits). The version store is re-read at most every `refresh`, so a
/// deployment, a rollout step or a rollback takes effect within that time and without a restart.
public final class ServedVersions: Sendable {
    public let store: VersionStore
    public let refresh: Duration
    static let saltSeed = StableHash.hash("rollout")

    struct Served: Sendable {
        var id: String
        var configuration: ProductionConfiguration
    }

    struct Snapshot: Sendable {
        var production: Served
        var candidate: Served?
        /// The candidate's share in basis points (0...10_000).
        var share: Int
        var read: ContinuousClock.Instant
    }

    private let snapshot = Mutex<Snapshot?>(nil)

    public struct Routed: Sendable {
        public var settings: RAGSettings
        public var version: String
        /// Present while a rollout splits traffic.
        public var arm: TrafficSplit.Arm?
    }

    public enum Failure: Error, CustomStringConvertible {
        case noProduction(String)
        public var description: String {
            switch self {
            case let .noProduction(path): "\(path): no production version to serve (tuner rsi commit, then tuner rsi deploy)"
            }
        }
    }

    public init(store: VersionStore, refresh: Duration = .milliseconds(500)) throws {
        self.store = store
        self.refresh = refresh
        _ = try current()
    }

    /// The snapshot, re-read when older than `refresh`. A store that cannot be read keeps the last one serving.
    private func current() throws -> Snapshot {
        let now = ContinuousClock.now
        if let s = snapshot.withLock({ $0 }), now - s.read < refresh { return s }
        do {
            guard let production = try store.current() else { throw Failure.noProduction(store.path.path) }
            let rollout = try store.rollout()
            let fresh = Snapshot(
                production: Served(id: production.id, configuration: try ProductionConfiguration(json: production.configuration)),
                candidate: try rollout.map { Served(id: $0.candidate.id, configuration: try ProductionConfiguration(json: $0.candidate.configuration)) },
                share: Int(((rollout?.percent ?? 0) * 100).rounded()), read: now)
            snapshot.withLock { $0 = fresh }
            return fresh
        } catch {
            guard let last = snapshot.withLock({ $0 }) else { throw error }
            return last
        }
    }

    public var productionVersion: String? { try? current().production.id }

    /// The settings for a request of `category` whose id is `key`.
    public func route(category: String, key: String) throws -> Routed {
        let s = try current()
        guard let candidate = s.candidate else {
            return Routed(settings: s.production.configuration.settings(for: category), version: s.production.id, arm: nil)
        }
        let arm: TrafficSplit.Arm = TrafficSplit.bucket(for: key, saltSeed: Self.saltSeed) < s.share ? .candidate : .baseline
        let served = arm == .candidate ? candidate : s.production
        return Routed(settings: served.configuration.settings(for: category), version: served.id, arm: arm)
    }
}
