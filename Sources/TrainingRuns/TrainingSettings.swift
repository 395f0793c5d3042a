import Foundation
import PPO
import Tuning

/// What a training run was configured with: stored with the run as JSON, and read back to resume it.
public struct TrainingSettings: Codable, Sendable {
    public var ppo: PPOConfiguration
    public var environment: RAGTuningEnvironment.Options
    /// The request log a run replays, if any.
    public var requestLog: String?
    /// Which update's policy the run keeps; nil in runs from before it was stored (they kept the last).
    public var selection: PolicySelection?

    public init(ppo: PPOConfiguration, environment: RAGTuningEnvironment.Options = .init(), requestLog: String? = nil,
                selection: PolicySelection? = .best) {
        self.ppo = ppo
        self.environment = environment
        self.requestLog = requestLog
        self.selection = selection
    }

    /// The RAG tuning preset with `overrides` (`field=value`) applied, run for `steps` from `seed`.
    public init(steps: Int, seed: UInt64, batchSize: Int? = nil, overrides: [String] = [], requestLog: String? = nil,
                selection: PolicySelection = .best) throws {
        var ppo = try PPOConfiguration.ragTuning.applying(overrides: overrides)
        ppo.totalSteps = steps
        ppo.seed = seed
        var environment = RAGTuningEnvironment.Options()
        if let batchSize { environment.batchSize = batchSize }
        self.init(ppo: ppo, environment: environment, requestLog: requestLog, selection: selection)
    }

    /// The policy a run judges and keeps.
    public var keeps: PolicySelection { selection ?? .last }

    public var json: String {
        get throws { String(decoding: try JSONEncoder.sorted.encode(self), as: UTF8.self) }
    }
}

/// Ctrl-C asks a training run to stop after the current update instead of killing the process.
public final class InterruptFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    private var source: DispatchSourceSignal?

    public init() {}

    public var raised: Bool {
        lock.lock()
        defer { lock.unlock() }
        return value
    }

    /// Catches SIGINT from now on.
    public func install() {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { [self] in
            lock.lock()
            value = true
            lock.unlock()
        }
        source.resume()
        self.source = source
    }
}
