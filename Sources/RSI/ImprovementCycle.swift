import Foundation
import Pipeline
import Scoring
import Tracking
import TunerPolicy

/// What one cycle of the loop did: deployed something, or stopped at a gate and why.
public struct CycleResult: Sendable, Codable, Equatable {
    public enum Gate: String, Sendable, Codable {
        case analysis, hypotheses, validation, test, deployment
    }
    public var cycle: String
    public var success: Bool
    public var serviceID: String
    /// Production's version when the cycle ended.
    public var version: String
    public var hypothesesGenerated: Int
    public var hypothesesDeployed: Int
    public var deployment: Deployer.Result?
    public var stoppedAt: Gate?
    public var reason: String
    public var findings: [String]
    public var hypotheses: [Hypothesis]
    public var tests: [ABTestResult]
}

/// One turn of the loop: analyse → hypothesise → validate → test → deploy/roll back → learn,
/// every step recorded in the experience database, approvals and pointer moves in the audit
/// trail. A gate that finds nothing to pass on ends the cycle with its reason.
public final class ImprovementCycle {
    public let configuration: RSIConfiguration
    public let setup: EvaluationSetup
    public let system: RetrievalSystem
    public let versions: VersionStore
    public let experience: ExperienceStore

    public enum Failure: Error, CustomStringConvertible {
        case noProduction(String)
        public var description: String {
            switch self {
            case let .noProduction(store): "\(store): no production version; commit and deploy one first (tuner rsi commit, tuner rsi deploy)"
            }
        }
    }

    public init(configuration: RSIConfiguration, setup: EvaluationSetup, system: RetrievalSystem, versions: VersionStore, experience: ExperienceStore) {
        self.configuration = configuration
        self.setup = setup
        self.system = system
        self.versions = versions
        self.experience = experience
    }

    /// Loads the service's dataset and configuration files as the configuration names them.
    public convenience init(configuration: RSIConfiguration) throws {
        let setup = try EvaluationSetup.load(
            datasetFolder: URL(fileURLWithPath: configuration.dataset), policyFile: configuration.policy.map { URL(fileURLWithPath: $0) },
            pipelineFile: configuration.pipeline.map { URL(fileURLWithPath: $0) })
        try self.init(configuration: configuration, setup: setup, system: RetrievalSystem(dataset: setup.dataset, costModel: setup.costModel),
                      versions: VersionStore(path: URL(fileURLWithPath: configuration.versionStore)),
                      experience: ExperienceStore(path: URL(fileURLWithPath: configuration.experienceStore)))
    }

    static func newCycleID(_ date: Date) -> String {
        let stamp = date.formatted(Date.VerbatimFormatStyle(
            format: "\(year: .defaultDigits)\(month: .twoDigits)\(day: .twoDigits)-\(hour: .twoDigits(clock: .twentyFourHour, hourCycle: .zeroBased))\(minute: .twoDigits)\(second: .twoDigits)",
            timeZone: .gmt, calendar: Calendar(identifier: .gregorian)))
        return "C\(stamp)-\(String(UInt16.random(in: 0...UInt16.max), radix: 16))"
    }

    public func run(now: Date = Date()) async throws -> CycleResult {
        let c = configuration
        guard let production = try versions.current() else { throw Failure.noProduction(versions.path.path) }
        let cycleID = Self.newCycleID(now)
        var record = try experience.beginCycle(cycleID, service: c.serviceID, at: now)
        var result = CycleResult(cycle: cycleID, success: false, serviceID: c.serviceID, version: production.id, hypothesesGenerated: 0,
                                 hypothesesDeployed: 0, stoppedAt: nil, reason: "", findings: [], hypotheses: [], tests: [])
        func finish(_ gate: CycleResult.Gate?, _ reason: String) throws -> CycleResult {
            result.stoppedAt = gate
            result.reason = reason
            result.version = try versions.current()?.id ?? production.id
            record.finished = Date()
            record.success = result.success
            record.gate = gate?.rawValue
            record.reason = reason
            record.deployedVersion = result.deployment?.outcome == .kept ? result.deployment?.version : nil
            record.hypothesesDeployed = result.hypothesesDeployed
            try experience.finish(record)
            return result
        }
        do {
            // A rollout left behind by an interrupted process is ended before anything else.
            if let stale = try versions.rollout() {
                let detail = "ended the rollout of \(stale.candidate.id) at \(stale.percent)% left by an interrupted cycle"
                try versions.endRollout(reason: "cycle \(cycleID): \(detail)")
                try experience.record(cycle: cycleID, hypothesis: nil, stage: "deployment", verdict: "recovery", detail: detail, audited: "tuner")
            }
            let current = try ProductionConfiguration(json: production.configuration)

            // Analysis.
            let log = URL(fileURLWithPath: c.decisionLog)
            let logged = (FileManager.default.fileExists(atPath: log.path) ? try LoggedRequest.read(log) : [])
                + (try c.requestLog.map { try LoggedRequest.read(requestLog: URL(fileURLWithPath: $0)) } ?? [])
            let analysis = TelemetryAnalysis.analyse(logged, end: now, window: c.windowSeconds, sampleRate: c.sampleRate, reward: setup.reward)
            result.findings = analysis.findings
            try experience.record(cycle: cycleID, hypothesis: nil, stage: "analysis", verdict: analysis.needsImprovement ? "findings" : "nothing",
                                  detail: ([analysis.gateReason] + analysis.findings).joined(separator: "\n"))
            // Hypotheses a person approved since an earlier cycle, still about what production serves.
            let carried = try experience.hypotheses(service: c.serviceID, statuses: [.approved]).compactMap { try? $0.hypothesis }
                .filter { current.settings(for: $0.category) == $0.from }
            guard analysis.needsImprovement || !carried.isEmpty else { return try finish(.analysis, analysis.gateReason) }

            // Hypotheses from the tuner's proposal.
            let start = now.addingTimeInterval(-c.windowSeconds)
            let window = TelemetryAnalysis.sampled(logged, rate: c.sampleRate).filter { $0.time >= start && $0.time < now }
            var proposal: HypothesisGenerator.Proposal?
            if analysis.needsImprovement {
                let patterns = c.patternLearning ? PatternExtraction(try experience.hypotheses(service: c.serviceID)) : nil
                let generated = try HypothesisGenerator(setup: setup, system: system, configuration: c)
                    .propose(window: window, production: current, analysis: analysis, cycle: cycleID, patterns: patterns) { Task.isCancelled }
                try Task.checkCancellation()
                let load = Double(window.count) / (c.windowSeconds / 3600)
                for h in generated.hypotheses + generated.discarded {
                    let kept = generated.hypotheses.contains { $0.id == h.id }
                    try experience.insert(h, service: c.serviceID, requestsPerHour: load, corpusDocuments: setup.dataset.documents.count,
                                          status: kept ? .proposed : .discarded)
                }
                try experience.record(cycle: cycleID, hypothesis: nil, stage: "hypotheses", verdict: "\(generated.hypotheses.count) put forward",
                                      detail: "replayed \(generated.replayed) window requests (\(generated.unmatched) unmatched); proposal: "
                                          + generated.configurations.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; "))
                proposal = generated
            }
            let fresh = proposal?.hypotheses ?? []
            result.hypotheses = fresh + carried
            result.hypothesesGenerated = fresh.count
            guard !result.hypotheses.isEmpty else {
                return try finish(.hypotheses, "the retrained policy proposes nothing with an expected gain over what production serves")
            }

            // Validation: fresh hypotheses are validated now; carried ones were approved by a person.
            let validator = HypothesisValidator(configuration: c, bounds: setup.policy.actions)
            var approved = carried
            var pending: [String] = [], rejected: [String] = []
            for h in fresh {
                let v = validator.validate(h)
                try experience.record(cycle: cycleID, hypothesis: h.id, stage: "validation", verdict: v.status.rawValue, detail: v.reasons.joined(separator: "; "),
                                      status: v.status, audited: v.status == .approved ? "tuner (auto-approve)" : nil)
                switch v.status {
                case .approved: approved.append(h)
                case .pendingReview: pending.append(h.id)
                default: rejected.append(h.id)
                }
            }
            guard !approved.isEmpty else {
                return try finish(.validation, "none approved: \(pending.count) waiting for review\(pending.isEmpty ? "" : " (\(pending.joined(separator: ", ")))"), \(rejected.count) rejected")
            }

            // A/B tests.
            let criteria = SuccessCriteria(c)
            let offline = OfflineABTest(setup: setup, system: system, criteria: criteria, seed: c.seed)
            let windowQueries = proposal?.windowQueries ?? []
            var passed: [Hypothesis] = []
            for h in approved {
                try Task.checkCancellation()
                var results = [try offline.test(h, excluding: windowQueries)]
                if let url = c.shadowURL {
                    let questions = try offline.queries(category: h.category, excluding: windowQueries).map { setup.dataset.queries[$0].text }
                    results.append(try await ShadowABTest(url: url, criteria: criteria, weights: setup.reward.weights, seed: c.seed)
                        .test(h, questions: questions, gates: setup.reward.forCategory(h.category).gates))
                }
                let ok = results.allSatisfy(\.passed)
                try experience.record(cycle: cycleID, hypothesis: h.id, stage: "test", verdict: ok ? "passed" : "failed",
                                      detail: String(decoding: try JSONEncoder().encode(results), as: UTF8.self), status: ok ? .passed : .failed)
                result.tests += results
                if ok { passed.append(h) }
            }
            guard !passed.isEmpty else { return try finish(.test, "no approved hypothesis met the success criteria (\(approved.count) tested)") }

            // One change per category and kind, best first; then each category's combined change is
            // itself tested, and falls back to its best single change when the combination fails.
            var chosen: [Hypothesis] = []
            for h in passed.sorted(by: { $0.score > $1.score }) where !chosen.contains(where: { $0.category == h.category && $0.kind == h.kind }) {
                chosen.append(h)
            }
            var next = current
            for (category, changes) in Dictionary(grouping: chosen, by: \.category) {
                var combined = changes[0].from
                for h in changes { combined = h.kind.apply(h.to, to: combined) }
                if changes.count > 1 {
                    var joint = changes[0]
                    joint.id = "\(changes[0].id)+"
                    joint.to = combined
                    let test = try offline.test(joint, excluding: windowQueries)
                    try experience.record(cycle: cycleID, hypothesis: nil, stage: "test", verdict: test.passed ? "passed" : "failed",
                                          detail: "\(category) combined (\(changes.map(\.id).joined(separator: ", "))): "
                                              + String(decoding: try JSONEncoder().encode(test), as: UTF8.self))
                    if !test.passed {
                        combined = changes[0].to
                        chosen.removeAll { $0.category == category && $0.id != changes[0].id }
                    }
                }
                next = next.setting(category, to: combined)
            }
            for h in passed where !chosen.contains(where: { $0.id == h.id }) {
                try experience.record(cycle: cycleID, hypothesis: h.id, stage: "deployment", verdict: "left out",
                                      detail: "another change of the same settings was deployed instead", status: .notDeployed)
            }
            let candidate = try versions.commit(
                configuration: next.json(), checkpoint: proposal?.checkpoint, parent: production.id, author: "tuner", kind: .tuner,
                reason: "cycle \(cycleID): " + chosen.map(\.summary).joined(separator: "; "))
            guard c.autoDeploy else {
                for h in chosen {
                    try experience.record(cycle: cycleID, hypothesis: h.id, stage: "deployment", verdict: "awaiting deployment",
                                          detail: "auto_deploy is off; in version \(candidate.id)", status: .notDeployed)
                }
                return try finish(.deployment, "auto_deploy is off: version \(candidate.id) holds \(chosen.count) passed hypotheses; deploy it with tuner rsi deploy \(candidate.id)")
            }

            // Deployment and monitoring.
            let monitor = DeploymentMonitor(log: log, reward: setup.reward, categories: Set(chosen.map(\.category)), minimumSamples: c.minimumSamples,
                                            tolerance: c.regressionTolerance)
            let deployer = Deployer(versions: versions, experience: experience, configuration: c, monitor: monitor)
            for h in chosen {
                try experience.record(cycle: cycleID, hypothesis: h.id, stage: "deployment", verdict: "deploying", detail: "in version \(candidate.id)", status: .deployed)
            }
            let deployment: Deployer.Result
            do {
                deployment = try await deployer.deploy(candidate.id, over: production.id, baseline: window, cycle: cycleID)
            } catch is CancellationError {
                for h in chosen {
                    try experience.record(cycle: cycleID, hypothesis: h.id, stage: "outcome", verdict: "aborted", detail: "the cycle was stopped", status: .notDeployed)
                }
                _ = try finish(.deployment, "stopped during deployment; production is back on \(production.id)")
                throw CancellationError()
            }
            result.deployment = deployment
            let kept = deployment.outcome == .kept
            for h in chosen {
                try experience.record(cycle: cycleID, hypothesis: h.id, stage: "outcome", verdict: kept ? "kept" : "rolled back", detail: deployment.reason,
                                      status: kept ? .kept : .rolledBack)
            }
            guard kept else { return try finish(.deployment, "version \(candidate.id) regressed and was rolled back: \(deployment.reason)") }
            result.success = true
            result.hypothesesDeployed = chosen.count
            return try finish(nil, "version \(candidate.id) deployed (\(c.strategy.rawValue)) with \(chosen.count) hypotheses: \(deployment.reason)")
        } catch is CancellationError {
            // Stopped by a signal: nothing half-applied is left (the deployer undoes its own
            // steps); the cycle's record says where it stopped.
            if record.finished == nil { _ = try finish(nil, "stopped before anything was applied") }
            throw CancellationError()
        }
    }
}
