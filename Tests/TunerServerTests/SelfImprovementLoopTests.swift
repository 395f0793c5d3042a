import Evaluators
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import NumericCore
import Pipeline
import Retrieval
import RSI
import Statistics
import Synchronization
import Testing
import Tracking
import TunerPolicy
import TunerServer

/// The loop end to end against a real `tuner serve` on 127.0.0.1 serving the production
/// configuration's versions, with traffic shifted towards the category (warranty) that the
/// launch configuration serves badly.
@Suite(.serialized) struct SelfImprovementLoopTests {
    /// A fresh loop: version store with the launch configuration in production, experience database, decision log.
    struct Harness {
        let folder: URL
        let versions: VersionStore
        let experience: ExperienceStore
        let log: URL
        let launch: VersionRecord
        var configuration = RSIConfiguration()

        init() throws {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("rsi-loop-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            versions = try VersionStore(path: folder.appendingPathComponent("versions.sqlite"))
            experience = try ExperienceStore(path: folder.appendingPathComponent("experience.sqlite"))
            log = folder.appendingPathComponent("decisions.jsonl")
            launch = try versions.commit(configuration: ProductionConfiguration().json(), checkpoint: nil, parent: nil, author: "ops", kind: .person,
                                         reason: "launch configuration")
            try versions.point(to: launch.id, reason: "launch")
            configuration.decisionLog = log.path
            configuration.windowSeconds = 60
            configuration.trainingSteps = 10_000
            configuration.strategy = .canary
            configuration.canaryPercent = 50
            configuration.holdSeconds = 2
            configuration.maxHoldSeconds = 40
            configuration.minimumSamples = 15
        }

        func server(_ evaluator: LocalEvaluator = Loopback.evaluator) throws -> TunerServer {
            TunerServer(evaluator: evaluator, policy: nil, versions: try ServedVersions(store: versions, refresh: .milliseconds(100)),
                        log: try DecisionLogWriter(url: log))
        }

        func cycle() -> ImprovementCycle {
            ImprovementCycle(configuration: configuration, setup: Loopback.evaluator.setup, system: Loopback.evaluator.system,
                             versions: versions, experience: experience)
        }

        /// Seven in ten questions about warranties, the rest about error codes and overviews: train-split questions.
        static let shiftedTraffic: [LoadGenerator.Question] = {
            let setup = Loopback.evaluator.setup
            let train = (try? setup.queries(split: "train")) ?? []
            var rng = RandomGenerator(seed: 11)
            let byCategory = Dictionary(grouping: train, by: { setup.dataset.queries[$0].category })
            return (0..<300).map { _ in
                let category = rng.uniform() < 0.7 ? "warranty" : (rng.uniform() < 0.5 ? "error_code" : "overview")
                let members = byCategory[category]!
                let q = setup.dataset.queries[members[Int(rng.uniform() * Double(members.count)) % members.count]]
                return LoadGenerator.Question(question: q.text, category: q.category)
            }
        }()

        /// Sends the shifted traffic from two threads of its own (not the test runner's task pool,
        /// which CPU-bound tests running beside this suite can hold) until stopped.
        func traffic(_ base: URL) -> BackgroundTraffic { BackgroundTraffic(base.appendingPathComponent("query"), questions: Self.shiftedTraffic) }

        /// Waits until the decision log holds `count` answered requests (traffic's pace depends on what else runs).
        func waitForRequests(_ count: Int, timeout: Duration = .seconds(90)) async throws {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                if FileManager.default.fileExists(atPath: log.path), try LoggedRequest.read(log).count >= count { return }
                try await Task.sleep(for: .milliseconds(200))
            }
            Issue.record("fewer than \(count) requests logged within \(timeout)")
        }

        /// Mean served reward of `category`'s requests by the version that served them.
        func servedReward(_ category: String) throws -> [String: (n: Int, mean: Double)] {
            let weights = Loopback.evaluator.setup.reward.weights
            let requests = try LoggedRequest.read(log).filter { $0.category == category }
            return Dictionary(grouping: requests, by: { $0.version ?? "-" }).mapValues { members in
                let rewards = members.compactMap { $0.reward(weights) }
                return (rewards.count, rewards.reduce(0, +) / Double(max(rewards.count, 1)))
            }
        }
    }

    @Test func aCycleFindsThePoorCategoryAndDeploysAChangeThatRaisesItsServedReward() async throws {
        let h = try Harness()
        try await Loopback.withServer({ try! h.server().application(port: 0, onRunning: $0) }) { base in
            let load = h.traffic(base)
            defer { load.stop() }
            try await h.waitForRequests(200)
            let result = try await h.cycle().run()
            let logged = try LoggedRequest.read(h.log).count
            try await h.waitForRequests(logged + 60)
            load.stop()

            #expect(result.success, "\(result.reason)")
            #expect(result.findings.contains { $0.hasPrefix("category warranty: faithfulness") })
            let rerank = try #require(result.hypotheses.first { $0.category == "warranty" && $0.kind == .rerankToggle })
            #expect(rerank.to.rerank && !rerank.from.rerank && rerank.evidence.expectedRewardChange.lower > 0.3)
            #expect(result.tests.contains { $0.hypothesis == rerank.id && $0.passed })
            let deployment = try #require(result.deployment)
            #expect(deployment.outcome == .kept && deployment.steps.count == 1 && deployment.steps[0].percent == 50)
            let production = try #require(try h.versions.current())
            #expect(production.id == deployment.version && production.parent == h.launch.id && production.authorKind == .tuner)
            #expect(try ProductionConfiguration(json: production.configuration).settings(for: "warranty").rerank)
            #expect(try h.versions.rollout() == nil)

            let served = try h.servedReward("warranty")
            let before = try #require(served[h.launch.id]), after = try #require(served[production.id])
            #expect(after.n >= 15 && after.mean > before.mean + 0.4, "warranty reward \(before.mean) → \(after.mean)")

            #expect(try h.experience.successfulHypotheses(service: h.configuration.serviceID).contains { $0.id == rerank.id })
            let stages = try h.experience.stages(hypothesis: rerank.id).map(\.stage)
            #expect(stages == ["validation", "test", "deployment", "outcome"])
            let audit = try h.experience.audit.records().map(\.action)
            #expect(audit.contains("validation: approved") && audit.contains("deployment: rollout") && audit.contains("deployment: promote"))
            #expect(try h.experience.audit.verify() == .intact(records: audit.count))
        }
    }

    @Test func aChangeThatRegressesUnderLiveTrafficIsRolledBack() async throws {
        var h = try Harness()
        h.configuration.hypothesisKinds = [.rerankToggle]
        // Production's re-ranker turns out far slower than the latency model the tests are run with.
        let slowPipeline = h.folder.appendingPathComponent("slow-reranker.yaml")
        try "version: 1\nreranker:\n  ms_per_candidate: 40\n".write(to: slowPipeline, atomically: true, encoding: .utf8)
        let live = try EvaluationSetup.load(datasetFolder: Loopback.repository.appendingPathComponent("datasets/demo"), policyFile: nil,
                                            pipelineFile: slowPipeline)
        let liveEvaluator = try LocalEvaluator(setup: live, system: RetrievalSystem(dataset: live.dataset, costModel: live.costModel))
        try await Loopback.withServer({ try! h.server(liveEvaluator).application(port: 0, onRunning: $0) }) { base in
            let load = h.traffic(base)
            defer { load.stop() }
            try await h.waitForRequests(200)
            let result = try await h.cycle().run()
            load.stop()

            #expect(!result.success && result.stoppedAt == .deployment)
            let deployment = try #require(result.deployment)
            #expect(deployment.outcome == .rolledBack)
            // Rolled back for its latency: the p95 gate of warranty, or — checked first by the rule,
            // and so whichever window sees it first — the latency burn-rate alert.
            let check = try #require(deployment.steps.last?.check)
            #expect(check.candidateBreaches.contains { $0.hasPrefix("warranty: p95 latency") } || check.reason.contains("latency burn"),
                    "\(check.reason) \(check.candidateBreaches)")
            #expect(try h.versions.current()?.id == h.launch.id && h.versions.rollout() == nil)
            let rerank = try #require(result.hypotheses.first)
            #expect(try h.experience.hypothesis(rerank.id).status == .rolledBack)
            #expect(try h.experience.audit.records().contains { $0.action == "deployment: rollback" })
            #expect(try h.experience.audit.verify() == .intact(records: h.experience.audit.records().count))
            // What was learned: re-ranking for warranty failed once.
            let pattern = try #require(PatternExtraction(try h.experience.hypotheses()).patterns.first { $0.kind == .rerankToggle && $0.condition == nil })
            #expect(pattern.attempts == 1 && pattern.successes == 0)
        }
    }

    @Test func aRiskyHypothesisWaitsForReviewAndIsTestedOnceApproved() async throws {
        var h = try Harness()
        h.configuration.hypothesisKinds = [.rerankToggle]
        h.configuration.autoApproveMaxRisk = .low
        h.configuration.autoDeploy = false
        try await Loopback.withServer({ try! h.server().application(port: 0, onRunning: $0) }) { base in
            let load = h.traffic(base)
            try await h.waitForRequests(150)
            load.stop()
            let first = try await h.cycle().run()
            #expect(first.stoppedAt == .validation && first.reason.hasPrefix("none approved: 1 waiting for review"))
            let pending = try h.experience.hypotheses(statuses: [.pendingReview])
            #expect(pending.count == 1 && pending[0].kind == .rerankToggle && pending[0].risk == .medium)
            #expect(try h.versions.current()?.id == h.launch.id)

            _ = try h.experience.review(pending[0].id, approve: true, reviewer: "alice", reason: "re-ranking is budgeted for warranty")
            #expect(throws: ExperienceStore.Failure.notPending(pending[0].id, .approved)) {
                try h.experience.review(pending[0].id, approve: false, reviewer: "bob", reason: "too late")
            }
            // An hour on, the window is empty: the approved hypothesis alone carries the cycle.
            let second = try await h.cycle().run(now: Date().addingTimeInterval(3600))
            #expect(second.hypothesesGenerated == 0 && second.tests.first?.hypothesis == pending[0].id && second.tests.first?.passed == true)
            #expect(second.stoppedAt == .deployment && second.reason.hasPrefix("auto_deploy is off"))
            #expect(try h.experience.hypothesis(pending[0].id).status == .notDeployed)
            #expect(try h.versions.current()?.id == h.launch.id && h.versions.versions().count == 2)
            let review = try #require(try h.experience.audit.records().first { $0.action == "review: approved" })
            #expect(review.actor == "alice" && review.subject == pending[0].id)
            // Nothing left to carry and nothing in the window: the analysis gate stops the cycle, and says why.
            let third = try await h.cycle().run(now: Date().addingTimeInterval(3600))
            #expect(third.stoppedAt == .analysis && third.reason.hasPrefix("nothing needs improving") && third.hypotheses.isEmpty)
        }
    }

    @Test func theShadowTestAsksTheLiveServiceForBothArmsOfEachQuestion() async throws {
        let h = try Harness()
        let setup = Loopback.evaluator.setup
        let questions = try setup.queries(split: "test", category: "warranty").prefix(12).map { setup.dataset.queries[$0].text }
        let interval = Bootstrap(seed: 1).pairedDifference([1, 2, 3], [0, 1, 2])
        func hypothesis(_ to: RAGSettings) -> Hypothesis {
            Hypothesis(id: "H1", cycle: "C1", kind: .rerankToggle, category: "warranty", from: RAGSettings(), to: to,
                       evidence: .init(requests: 1, trafficShare: 1, expectedRewardChange: interval, currentBreaches: []), risk: .medium, score: 1)
        }
        try await Loopback.withServer({ try! h.server().application(port: 0, onRunning: $0) }) { base in
            let shadow = ShadowABTest(url: base, criteria: SuccessCriteria(h.configuration), weights: setup.reward.weights, seed: 1)
            let gates = setup.reward.forCategory("warranty").gates
            let rerank = try await shadow.test(hypothesis(RAGSettings(rerank: true)), questions: questions, gates: gates)
            #expect(rerank.arm == "shadow" && rerank.pairs == 12 && rerank.passed, "\(rerank.failures)")
            #expect((rerank.gain?.lower ?? 0) > 0.3 && rerank.faithfulness > 0.9)
            let narrow = try await shadow.test(hypothesis(RAGSettings(k: 3)), questions: questions, gates: gates)
            #expect(!narrow.passed && narrow.breaches.contains { $0.hasPrefix("faithfulness") } && (narrow.gain?.upper ?? 0) < 0)
        }
        // Shadow requests carry their settings in the header, so they are not production's decisions.
        #expect(try !FileManager.default.fileExists(atPath: h.log.path) || LoggedRequest.read(h.log).isEmpty)
    }

    @Test func aStoppedCycleAppliesNothingAndSaysWhereItStopped() async throws {
        var h = try Harness()
        h.configuration.trainingSteps = 2_000_000
        try await Loopback.withServer({ try! h.server().application(port: 0, onRunning: $0) }) { base in
            let load = h.traffic(base)
            try await h.waitForRequests(150)
            load.stop()
            let cycle = h.cycle()
            let running = Task { try await cycle.run() }
            // Stop it while PPO retrains on the window.
            while try h.experience.stages().contains(where: { $0.stage == "analysis" }) == false { try await Task.sleep(for: .milliseconds(50)) }
            try await Task.sleep(for: .milliseconds(500))
            running.cancel()
            await #expect(throws: CancellationError.self) { try await running.value }
            #expect(try h.versions.current()?.id == h.launch.id && h.versions.versions().count == 1 && h.versions.rollout() == nil)
            let record = try #require(try h.experience.cycles().first)
            #expect(record.finished != nil && !record.success && record.reason == "stopped before anything was applied")
            #expect(try h.experience.hypotheses().isEmpty && h.experience.audit.records().isEmpty)
        }
    }
}

/// Requests at about `perThread` per second from each of two threads, round-robin over the questions, until stopped.
final class BackgroundTraffic: Sendable {
    private let stopped = Atomic(false)
    private let next = Atomic(0)

    init(_ endpoint: URL, questions: [LoadGenerator.Question], perThread: Double = 20) {
        let bodies = questions.map { try! JSONEncoder().encode($0) }
        for _ in 0..<2 {
            Thread.detachNewThread { [self] in
                let session = URLSession(configuration: .ephemeral)
                while !stopped.load(ordering: .relaxed) {
                    let started = Date()
                    var request = URLRequest(url: endpoint, timeoutInterval: 30)
                    request.httpMethod = "POST"
                    request.setValue("application/json", forHTTPHeaderField: "Content-Type")
                    request.httpBody = bodies[next.add(1, ordering: .relaxed).oldValue % bodies.count]
                    let done = DispatchSemaphore(value: 0)
                    session.dataTask(with: request) { _, _, _ in done.signal() }.resume()
                    done.wait()
                    Thread.sleep(forTimeInterval: max(0, 1 / perThread - Date().timeIntervalSince(started)))
                }
            }
        }
    }

    func stop() { stopped.store(true, ordering: .relaxed) }
}
