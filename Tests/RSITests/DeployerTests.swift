import Foundation
import RSI
import Scoring
import Synchronization
import Testing
import Tracking
import TunerPolicy

/// Deployment strategies against a real version store, experience database and decision log,
/// with a simulated service that serves what the store says (production, or a rollout's
/// candidate for its share) and logs what it observed: a good version answers well and fast, a
/// bad one breaches the latency gate.
@Suite struct DeployerTests {
    struct Fixture {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("deployer-\(UUID().uuidString)")
        let versions: VersionStore
        let experience: ExperienceStore
        let log: URL
        let previous: VersionRecord
        let next: VersionRecord

        init() throws {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            versions = try VersionStore(path: folder.appendingPathComponent("versions.sqlite"))
            experience = try ExperienceStore(path: folder.appendingPathComponent("experience.sqlite"))
            log = folder.appendingPathComponent("decisions.jsonl")
            previous = try versions.commit(configuration: ProductionConfiguration().json(), checkpoint: nil, parent: nil, author: "ops", kind: .person, reason: "launch")
            try versions.point(to: previous.id, reason: "launch")
            next = try versions.commit(configuration: ProductionConfiguration().setting("warranty", to: RAGSettings(rerank: true)).json(),
                                       checkpoint: nil, parent: previous.id, author: "tuner", kind: .tuner, reason: "re-rank warranty")
            try experience.beginCycle("C1", service: "test")
        }

        func deployer(_ strategy: RSIConfiguration.Strategy, maxHold: Double = 10) -> Deployer {
            var c = RSIConfiguration()
            c.strategy = strategy
            c.canaryPercent = 20
            c.gradualSteps = [10, 50, 100]
            c.holdSeconds = 0.2
            c.maxHoldSeconds = maxHold
            c.minimumSamples = 20
            c.regressionTolerance = 0.01
            let reward = RewardFunction(PolicyConfiguration(actions: .init(variants: ["hybrid"], templates: ["ranked"])))
            return Deployer(versions: versions, experience: experience, configuration: c,
                            monitor: DeploymentMonitor(log: log, reward: reward, categories: ["warranty"], minimumSamples: 20, tolerance: 0.01))
        }

        /// Serves requests on a thread of its own until stopped, 1 in 100 of them per percent of a
        /// rollout to its candidate; `bad` versions breach the latency gate.
        func service(bad: Set<String>) -> SimulatedService { SimulatedService(versions: versions, log: log, bad: bad) }

        /// What `previous` looked like before the deployment.
        func baseline() async throws -> [LoggedRequest] {
            try? FileManager.default.removeItem(at: log)
            let service = service(bad: [])
            try await Task.sleep(for: .milliseconds(300))
            service.stop()
            return try LoggedRequest.read(log)
        }
    }

    @Test func aHealthyGradualRolloutStepsThroughEveryShareAndIsKept() async throws {
        let f = try Fixture()
        let baseline = try await f.baseline()
        let service = f.service(bad: [])
        defer { service.stop() }
        let result = try await f.deployer(.gradual).deploy(f.next.id, over: f.previous.id, baseline: baseline, cycle: "C1")
        #expect(result.outcome == .kept && result.steps.map(\.percent) == [10, 50, 100], "\(result.reason)")
        #expect(result.steps.allSatisfy { $0.check.verdict == .healthy })
        #expect(try f.versions.current()?.id == f.next.id && f.versions.rollout() == nil)
        let moves = try f.versions.moves(VersionStore.candidate).map(\.percent)
        #expect(moves == [10, 50, 0])
        #expect(try f.experience.audit.records().map(\.action) == ["deployment: rollout", "deployment: rollout", "deployment: promote"])
    }

    @Test func aBlueGreenSwitchThatRegressesSwitchesBackAtOnce() async throws {
        let f = try Fixture()
        let baseline = try await f.baseline()
        let service = f.service(bad: [f.next.id])
        defer { service.stop() }
        let result = try await f.deployer(.blueGreen).deploy(f.next.id, over: f.previous.id, baseline: baseline, cycle: "C1")
        #expect(result.outcome == .rolledBack && result.steps.count == 1)
        #expect(result.steps[0].check.candidateBreaches == ["warranty: p95 latency 900 ms > 500 ms"])
        #expect(try f.versions.current()?.id == f.previous.id && f.versions.current(VersionStore.standby)?.id == f.previous.id)
        #expect(try f.versions.moves().map(\.to) == [f.previous.id, f.next.id, f.previous.id])
        #expect(try f.experience.audit.records().map(\.action) == ["deployment: deploy", "deployment: rollback"])
    }

    @Test func aCanaryWithoutTrafficIsRolledBackAfterTheLongestHold() async throws {
        let f = try Fixture()
        let result = try await f.deployer(.canary, maxHold: 1).deploy(f.next.id, over: f.previous.id, baseline: [], cycle: "C1")
        #expect(result.outcome == .rolledBack && result.steps[0].check.verdict == .insufficient)
        #expect(try f.versions.current()?.id == f.previous.id && f.versions.rollout() == nil)
    }

    /// The deployment monitor judges by the canary rule: a category's gates are judged on enough
    /// of its own requests (with fewer, a candidate that answers worse waits for traffic rather
    /// than passing), while a burn-rate alert — most of the candidate's requests over the latency
    /// gate — rolls back at once, before any category could be judged.
    @Test func aCategoryIsJudgedOnlyOnEnoughOfItsOwnRequestsButABurnActsAtOnce() throws {
        let f = try Fixture()
        // The log keeps milliseconds: a request written within the millisecond `since` falls in
        // would read as earlier.
        let since = Date().addingTimeInterval(-1)
        let writer = try DecisionLogWriter(url: f.log)
        var served = 0
        func serve(_ version: String, _ count: Int, latency: Double, quality: Double) throws {
            for _ in 0..<count {
                let id = "r\(served)"
                served += 1
                try writer.append(DecisionLogEntry(configuration: RAGSettings().configuration, version: version, requestID: id, category: "warranty", question: nil))
                try writer.append(outcome: DecisionOutcome(latencyMilliseconds: latency, costUSD: 0.0002, faithfulness: quality, relevancy: quality, error: false),
                                  requestID: id)
            }
        }
        try serve(f.previous.id, 30, latency: 200, quality: 0.9)
        try serve(f.next.id, 17, latency: 210, quality: 0.5)
        let reward = RewardFunction(PolicyConfiguration(actions: .init(variants: ["hybrid"], templates: ["ranked"])))
        let monitor = DeploymentMonitor(log: f.log, reward: reward, categories: ["warranty"], minimumSamples: 15, tolerance: 0.01)
        let early = try monitor.check(version: f.next.id, since: since, baseline: nil)
        #expect(early.verdict == .insufficient, "\(early.reason)")
        #expect(early.reason == "category warranty: 17 requests on the candidate; 20 each needed to judge its gates")
        #expect(early.candidateReward < early.baselineReward)

        try serve(f.next.id, 3, latency: 210, quality: 0.5)
        let judged = try monitor.check(version: f.next.id, since: since, baseline: nil)
        #expect(judged.verdict == .regression && judged.candidateBreaches == ["warranty: faithfulness 0.500 < 0.750", "warranty: relevancy 0.500 < 0.750"],
                "\(judged.reason)")

        let slow = try DeployerTests.Fixture()
        let slowWriter = try DecisionLogWriter(url: slow.log)
        for i in 0..<30 {
            try slowWriter.append(DecisionLogEntry(configuration: RAGSettings().configuration, version: slow.previous.id, requestID: "b\(i)", category: "warranty", question: nil))
            try slowWriter.append(outcome: DecisionOutcome(latencyMilliseconds: 200, costUSD: 0.0002, faithfulness: 0.9, relevancy: 0.9, error: false), requestID: "b\(i)")
        }
        for i in 0..<17 {
            try slowWriter.append(DecisionLogEntry(configuration: RAGSettings().configuration, version: slow.next.id, requestID: "c\(i)", category: "warranty", question: nil))
            try slowWriter.append(outcome: DecisionOutcome(latencyMilliseconds: 900, costUSD: 0.0002, faithfulness: 1, relevancy: 1, error: false), requestID: "c\(i)")
        }
        let burning = try DeploymentMonitor(log: slow.log, reward: reward, categories: ["warranty"], minimumSamples: 15, tolerance: 0.01)
            .check(version: slow.next.id, since: since, baseline: nil)
        #expect(burning.verdict == .regression && burning.reason.hasPrefix("latency burn 20.0×"), "\(burning.reason)")
    }

    @Test func stoppingMidRolloutLeavesNothingHalfApplied() async throws {
        let f = try Fixture()
        let deployer = f.deployer(.direct, maxHold: 60)
        let (next, previous) = (f.next.id, f.previous.id)
        let task = Task { try await deployer.deploy(next, over: previous, baseline: [], cycle: "C1") }
        while try f.versions.current()?.id != next { try await Task.sleep(for: .milliseconds(20)) }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(try f.versions.current()?.id == previous && f.versions.rollout() == nil)
        #expect(try f.experience.audit.records().map(\.action) == ["deployment: deploy", "deployment: aborted"])
        #expect(try f.experience.audit.verify() == .intact(records: 2))
    }
}

final class SimulatedService: Sendable {
    private let stopped = Atomic(false)

    init(versions: VersionStore, log: URL, bad: Set<String>) {
        let writer = try! DecisionLogWriter(url: log)
        Thread.detachNewThread { [self] in
            var i = 0
            while !stopped.load(ordering: .relaxed) {
                let rollout = try! versions.rollout()
                let production = try! versions.current()!.id
                let version = rollout.map { Double(i % 100) < $0.percent ? $0.candidate.id : production } ?? production
                let id = "r\(i)"
                try! writer.append(DecisionLogEntry(configuration: RAGSettings().configuration, version: version, requestID: id, category: "warranty", question: nil,
                                                    arm: rollout == nil ? nil : (version == production ? .baseline : .candidate)))
                try! writer.append(outcome: DecisionOutcome(latencyMilliseconds: bad.contains(version) ? 900 : 200 + Double(i % 7), costUSD: 0.0002,
                                                            faithfulness: 0.9, relevancy: 0.85 + Double(i % 3) * 0.01, error: false), requestID: id)
                i += 1
                Thread.sleep(forTimeInterval: 0.002)
            }
        }
    }

    func stop() { stopped.store(true, ordering: .relaxed) }
}
