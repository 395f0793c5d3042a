import Foundation
import NumericCore
import Tracking

/// Puts a version into production with the configured strategy, watches it, and rolls it back
/// on regression. Every pointer move is one transaction of the version store, every step is a
/// stage of the experience database and a link of the audit trail; a deployment that is
/// cancelled mid-way (Ctrl-C, a stopped loop) is rolled back before the cancellation returns, so
/// no half-applied change is left behind.
public struct Deployer: Sendable {
    public let versions: VersionStore
    public let experience: ExperienceStore
    public let configuration: RSIConfiguration
    public let monitor: DeploymentMonitor

    public init(versions: VersionStore, experience: ExperienceStore, configuration: RSIConfiguration, monitor: DeploymentMonitor) {
        self.versions = versions
        self.experience = experience
        self.configuration = configuration
        self.monitor = monitor
    }

    public struct Step: Sendable, Codable, Equatable {
        /// The share of traffic the new version served during the step.
        public var percent: Double
        public var started: Date
        public var check: DeploymentMonitor.Check
    }

    public struct Result: Sendable, Codable, Equatable {
        public enum Outcome: String, Sendable, Codable {
            case kept
            case rolledBack = "rolled_back"
            case aborted
        }
        public var strategy: RSIConfiguration.Strategy
        public var version: String
        public var previous: String
        public var steps: [Step]
        public var outcome: Outcome
        public var reason: String
    }

    /// Deploys `version` over `previous` (production's version now); `baseline` is what the
    /// affected categories looked like under `previous` (the analysis window).
    public func deploy(_ version: String, over previous: String, baseline: [LoggedRequest], cycle: String) async throws -> Result {
        var result = Result(strategy: configuration.strategy, version: version, previous: previous, steps: [], outcome: .kept, reason: "")
        do {
            switch configuration.strategy {
            case .direct:
                try move("deploy", "production → \(version) (direct)", cycle) { try versions.point(to: version, reason: $0) }
                try await watchFullTraffic(&result, baseline: baseline, cycle: cycle) { try versions.point(to: previous, reason: $0) }
            case .blueGreen:
                try move("deploy", "standby ← \(previous) (blue), production → \(version) (green)", cycle) { reason in
                    try versions.point(VersionStore.standby, to: previous, reason: reason)
                    try versions.point(to: version, reason: reason)
                }
                try await watchFullTraffic(&result, baseline: baseline, cycle: cycle) { try versions.point(to: previous, reason: $0) }
            case .canary:
                try await rollout(&result, steps: [configuration.canaryPercent], cycle: cycle)
                if result.outcome == .kept {
                    try move("promote", "canary healthy: production → \(version)", cycle) { try versions.promoteRollout(reason: $0) }
                }
            case .gradual:
                try await rollout(&result, steps: configuration.gradualSteps.filter { $0 < 100 }, cycle: cycle)
                if result.outcome == .kept {
                    try move("promote", "gradual steps healthy: production → \(version) (100%)", cycle) { try versions.promoteRollout(reason: $0) }
                    try await watchFullTraffic(&result, baseline: baseline, cycle: cycle) { try versions.point(to: previous, reason: $0) }
                }
            }
        } catch is CancellationError {
            // Undo whatever was applied: a rollout ends, production returns to the previous version.
            try versions.endRollout(reason: "cycle \(cycle) stopped during deployment")
            if try versions.current()?.id != previous { try versions.point(to: previous, reason: "cycle \(cycle) stopped during deployment") }
            try experience.record(cycle: cycle, hypothesis: nil, stage: "deployment", verdict: "aborted",
                                  detail: "stopped during \(configuration.strategy.rawValue) deployment of \(version); production back on \(previous)",
                                  audited: "tuner")
            result.outcome = .aborted
            result.reason = "stopped during deployment; production is back on \(previous)"
            throw CancellationError()
        }
        return result
    }

    /// Routes each share of traffic to the candidate in turn, holding and checking it against the other arm.
    private func rollout(_ result: inout Result, steps: [Double], cycle: String) async throws {
        for percent in steps {
            let started = Date()
            try move("rollout", String(format: "candidate %@ at %g%%", result.version, percent), cycle) {
                try versions.startRollout(of: result.version, percent: percent, reason: $0, at: started)
            }
            let check = try await hold(version: result.version, since: started, baseline: nil)
            result.steps.append(Step(percent: percent, started: started, check: check))
            try experience.record(cycle: cycle, hypothesis: nil, stage: "monitor", verdict: check.verdict.rawValue,
                                  detail: String(format: "%g%%: ", percent) + check.reason)
            guard check.verdict == .healthy else {
                try move("rollback", String(format: "rollout stopped at %g%%: ", percent) + check.reason, cycle) { try versions.endRollout(reason: $0) }
                result.outcome = .rolledBack
                result.reason = check.reason
                return
            }
            result.reason = check.reason
        }
    }

    /// Holds the new version at full traffic and checks it against `baseline`; `rollBack` on regression.
    private func watchFullTraffic(_ result: inout Result, baseline: [LoggedRequest], cycle: String, rollBack: (String) throws -> Void) async throws {
        let started = Date()
        let check = try await hold(version: result.version, since: started, baseline: baseline)
        result.steps.append(Step(percent: 100, started: started, check: check))
        try experience.record(cycle: cycle, hypothesis: nil, stage: "monitor", verdict: check.verdict.rawValue, detail: "100%: " + check.reason)
        if check.verdict != .healthy {
            try move("rollback", "production → \(result.previous): " + check.reason, cycle, rollBack)
            result.outcome = .rolledBack
            result.reason = check.reason
        } else {
            result.reason = check.reason
        }
    }

    /// Waits the hold time, then checks; with too little traffic it keeps checking each second
    /// until the longest hold, after which too little traffic counts as a failed check.
    private func hold(version: String, since: Date, baseline: [LoggedRequest]?) async throws -> DeploymentMonitor.Check {
        let offset = LoggedRequest.end(of: monitor.log)
        try await Task.sleep(for: .seconds(configuration.holdSeconds))
        while true {
            let check = try monitor.check(version: version, since: since, offset: offset, baseline: baseline)
            if check.verdict != .insufficient || Date().timeIntervalSince(since) >= configuration.maxHoldSeconds { return check }
            try await Task.sleep(for: .seconds(1))
        }
    }

    /// A pointer move, recorded as a deployment stage and audited in one go after it succeeds.
    private func move(_ verdict: String, _ detail: String, _ cycle: String, _ apply: (String) throws -> Void) throws {
        try apply("cycle \(cycle): \(detail)")
        try experience.record(cycle: cycle, hypothesis: nil, stage: "deployment", verdict: verdict, detail: detail, audited: "tuner")
    }
}
