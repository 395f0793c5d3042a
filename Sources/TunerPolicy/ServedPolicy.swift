import Foundation

/// What chooses a service's configuration beside production (`tuner shadow`, `tuner canary`):
/// a RAG policy network, over the built-in pipeline's knobs, or a configuration table, over any
/// service's own. Both reload from their file and decide from a request's context.
public enum ServedPolicy: Sendable {
    case network(PolicyHandle)
    case table(ServedHandle<ConfigurationTable>)

    /// A policy whose knobs the service it would choose for does not declare.
    public struct KnobRefusal: Error, CustomStringConvertible {
        public var path: String
        public var problem: KnobProblem
        public var description: String { "the policy \(path) was tuned under knobs the service's policy file does not admit: \(problem)" }

        /// Throws for knobs `trained` that `service` does not admit; a network from before
        /// checkpoints carried their knobs (nil) was trained on the pipeline's.
        static func check(_ trained: KnobDeclaration?, within service: KnobDeclaration, path: String) throws {
            if let problem = trained?.problem(within: service) { throw KnobRefusal(path: path, problem: problem) }
        }
    }

    /// Loads the file at `url` as a configuration table or a network (by its kind). A policy
    /// tuned under knobs `service` does not admit is refused, at load and on every reload: the
    /// service would refuse each configuration it chose.
    public init(contentsOf url: URL, for service: KnobDeclaration) throws {
        if try ConfigurationTable.isTable(at: url) {
            self = .table(try ServedHandle(contentsOf: url) { try KnobRefusal.check($0.knobs, within: service, path: url.path) })
        } else {
            self = .network(try PolicyHandle(contentsOf: url, for: service))
        }
    }

    /// The configuration for a request in `context`, and as settings where a network chose it.
    public func decide(_ context: PolicyContext) -> (configuration: Configuration, settings: RAGSettings?) {
        switch self {
        case let .network(policy):
            let settings = policy.decide(context).settings
            return (settings.configuration, settings)
        case let .table(table): return (table.current.decide(category: context.category), nil)
        }
    }

    /// The content hash of the file serving now.
    public var version: String {
        switch self {
        case let .network(policy): policy.current.version
        case let .table(table): table.current.version
        }
    }

    /// Reads the policy's file again (after an operator replaced it) and returns the version now
    /// serving; on any error nothing changes.
    @discardableResult
    public func reload() throws -> String {
        switch self {
        case let .network(policy):
            try policy.reload()
            return policy.current.version
        case let .table(table):
            try table.reload()
            return table.current.version
        }
    }
}

extension ServedHandle where Served == RAGPolicy {
    /// Loads the network at `url`, refused — at load and on every reload — when trained under
    /// knobs `service` does not admit.
    public convenience init(contentsOf url: URL, for service: KnobDeclaration) throws {
        try self.init(contentsOf: url) { try ServedPolicy.KnobRefusal.check($0.checkpoint.knobs, within: service, path: url.path) }
    }
}
