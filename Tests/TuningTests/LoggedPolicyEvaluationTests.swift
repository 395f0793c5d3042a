import Foundation
import NumericCore
import Pipeline
import Statistics
import Testing
import TunerPolicy
import Tuning

/// A simulated logged bandit with a known answer: contexts x ~ N(0, I₂), actions (variant of 3,
/// re-rank on/off) logged uniformly at random (propensity 1/6), reward Bernoulli with
/// p = 0.2 + 0.5·[variant = (x₀ > 0 ? 0 : 1)] + 0.2·rerank. A target policy read back from a
/// checkpoint file is evaluated; its true value is computed from p and the policy's own
/// probabilities. The importance-weighted estimators must land within 4 bootstrap standard errors.
@Suite struct LoggedPolicyEvaluationTests {
    static let space = ActionSpace([.categorical("variant", choices: ["bm25", "dense", "hybrid"]), .bernoulli("rerank")])

    static func rewardProbability(_ x: [Float], _ action: [Float]) -> Double {
        0.2 + (Int(action[0]) == (x[0] > 0 ? 0 : 1) ? 0.5 : 0) + 0.2 * Double(action[1])
    }

    @Test func estimatorsRecoverTheTargetPolicysValueFromACheckpoint() throws {
        var rng = RandomGenerator(seed: 42)
        let network = PolicyNetwork(architecture: PolicyArchitecture(observationSize: 2, actionSpace: Self.space, hiddenSizes: [8]))
        try network.initialize(using: &rng)
        for i in 0..<network.arena.count { network.arena.values[i] += Float(rng.normal()) * 0.8 }
        // Written where `tuner ope` can be tried on them after a test run.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ragtuner-ope-example")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let checkpoint = folder.appendingPathComponent("target.policy")
        try PolicyCheckpoint(network: network, normalizer: RunningNormalizer(size: 2)).write(to: checkpoint)
        let policy = Policy(checkpoint: try PolicyCheckpoint.read(from: checkpoint))

        var records: [DecisionRecord] = []
        var truth = 0.0
        let actions: [[Float]] = (0..<3).flatMap { v in [[Float(v), 0], [Float(v), 1]] }
        for _ in 0..<3_000 {
            let x = [Float(rng.normal()), Float(rng.normal())]
            let action = actions[rng.bounded(6)]
            let reward: Double = rng.uniform() < Self.rewardProbability(x, action) ? 1 : 0
            records.append(DecisionRecord(context: x, action: action, propensity: 1.0 / 6, reward: reward))
            truth += actions.reduce(0) { $0 + Double(exp(policy.logProbability(of: $1, given: x))) * Self.rewardProbability(x, $1) }
        }
        truth /= Double(records.count)
        // The documented log format: decision lines, outcome lines later, joined by request id;
        // plus one malformed line and one outcome whose decision is missing.
        let log = folder.appendingPathComponent("decisions.jsonl")
        var lines: [String] = []
        for (i, r) in records.enumerated() {
            lines.append(try Self.json(["event": "decision", "timestamp": "2026-11-23T06:00:00.000Z", "request_id": "q\(i)",
                                        "context": r.context, "action": r.action, "propensity": r.propensity!, "policy_version": "logger"]))
            if i >= 2 { lines.append(try Self.json(["event": "outcome", "timestamp": "2026-11-23T06:00:01.000Z", "request_id": "q\(i - 2)", "outcome": ["reward": records[i - 2].reward!]])) }
        }
        for i in records.count - 2 ..< records.count {
            lines.append(try Self.json(["event": "outcome", "timestamp": "2026-11-23T06:00:02.000Z", "request_id": "q\(i)", "outcome": ["reward": records[i].reward!]]))
        }
        lines.insert("{\"event\": \"decision\", truncated", at: 100)
        lines.append(try Self.json(["event": "outcome", "timestamp": "2026-11-23T06:00:03.000Z", "request_id": "nobody", "outcome": ["reward": 1]]))
        try lines.joined(separator: "\n").write(to: log, atomically: true, encoding: .utf8)
        let read = try DecisionLog.read(log)
        #expect(read.records == records)
        #expect(read.badLines.count == 1 && read.orphanOutcomes == 1 && read.withoutReward == 0 && read.policyVersions == ["logger": 3_000])
        #expect(throws: DecisionLog.Failure.self) { try DecisionLog.read(log, maxBadLineFraction: 0) }

        var options = LoggedPolicyEvaluation.Options()
        options.samplesPerContext = 16
        options.bootstrap = Bootstrap(resamples: 1_000, seed: 5)
        let estimates = try LoggedPolicyEvaluation.evaluate(records, policy: policy, options: options)
        #expect(estimates.map(\.estimator) == OffPolicyEvaluation.Estimator.allCases)
        for e in estimates where e.estimator != .dm {
            print("OPE \(e.estimator.rawValue): \(e.value) ± \(e.interval.standardError) (truth \(truth), ESS \(Int(e.effectiveSampleSize)))")
            #expect(abs(e.value - truth) < 4 * e.interval.standardError, "\(e.estimator)")
            #expect(e.warning == nil)
        }

        // A target that serves one fixed action where x₀ > 0 (a category on the shared
        // configuration) and the network elsewhere: its value there is that action's reward.
        let fixed: [Float] = [2, 1]
        var fixedTruth = 0.0
        for r in records {
            fixedTruth += r.context[0] > 0 ? Self.rewardProbability(r.context, fixed)
                : actions.reduce(0) { $0 + Double(exp(policy.logProbability(of: $1, given: r.context))) * Self.rewardProbability(r.context, $1) }
        }
        fixedTruth /= Double(records.count)
        let mixed = try LoggedPolicyEvaluation.evaluate(records, policy: policy, fixedAction: { $0[0] > 0 ? fixed : nil }, options: options)
        for e in mixed where e.estimator != .dm {
            #expect(abs(e.value - fixedTruth) < 4 * e.interval.standardError, "\(e.estimator): \(e.value) against \(fixedTruth)")
        }
        #expect(abs(fixedTruth - truth) > 0.02, "the fixed action must change the value for the check to mean anything")
    }

    static func json(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    /// Outcomes without a reward are scored with the reward weights; decisions with no usable
    /// outcome are counted and left out.
    @Test func outcomesWithoutARewardAreScoredByTheRewardWeights() throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("ragtuner-log-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: log) }
        let decision: (String) throws -> String = { id in
            try Self.json(["event": "decision", "timestamp": "t", "request_id": id, "context": [0.5], "action": [1], "propensity": 0.5])
        }
        try [
            try decision("a"), try decision("b"), try decision("c"),
            try Self.json(["event": "outcome", "timestamp": "t", "request_id": "a", "outcome": ["latency_ms": 1500, "cost_usd": 0.001]]),
            try Self.json(["event": "outcome", "timestamp": "t", "request_id": "a", "outcome": ["faithfulness": 0.8, "relevancy": 0.6]]),
            try Self.json(["event": "outcome", "timestamp": "t", "request_id": "b", "outcome": ["feedback": 1]]),
        ].joined(separator: "\n").write(to: log, atomically: true, encoding: .utf8)
        let read = try DecisionLog.read(log)
        // 0.5·0.8 + 0.5·0.6 − 0.2·min(1500/500, 2) − 0.2·min(0.001/0.002, 2)
        #expect(read.records.count == 1 && abs(read.records[0].reward! - (0.7 - 0.4 - 0.1)) < 1e-12)
        #expect(read.withoutReward == 2 && read.decisionCount == 3 && read.outcomeCount == 2)
        // Two outcome lines for "a" merged into one; "b" reported only feedback.
        #expect(read.summary.contains("2 decisions without a reward left out"))
    }

    @Test func logsWithoutOutcomesOrWithWrongShapesAreRefusedByRow() throws {
        let network = PolicyNetwork(architecture: PolicyArchitecture(observationSize: 2, actionSpace: Self.space, hiddenSizes: [4]))
        let policy = Policy(network: network, normalizer: nil)
        let good = DecisionRecord(context: [0, 1], action: [1, 0], propensity: 0.2, reward: 1)
        #expect(throws: LoggedPolicyEvaluation.Failure.missingReward(row: 2)) {
            try LoggedPolicyEvaluation.evaluate([good, DecisionRecord(context: [0, 1], action: [1, 0], propensity: 0.2, reward: nil)], policy: policy)
        }
        #expect(throws: LoggedPolicyEvaluation.Failure.shape(row: 1, reason: "context has 3 features, the policy 2")) {
            try LoggedPolicyEvaluation.evaluate([DecisionRecord(context: [0, 1, 2], action: [1, 0], propensity: 0.2, reward: 1), good], policy: policy)
        }
        #expect(throws: OffPolicyEvaluation.Failure.invalidPropensity(row: 2, value: 0)) {
            try LoggedPolicyEvaluation.evaluate([good, DecisionRecord(context: [0, 1], action: [1, 0], propensity: 0, reward: 1)], policy: policy)
        }
    }
}
