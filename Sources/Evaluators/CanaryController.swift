import Foundation
import NumericCore
import Scoring
import Statistics
import Synchronization
import TunerPolicy

/// The canary's decisions, one per evaluation window of `windowRequests` requests: hold,
/// promote to the next traffic step, roll back, or complete — by the ``CanaryRule`` the
/// self-improvement loop's deployments are judged by too.
///
/// - **Roll back** at once when the rule does (a burn-rate alert over the last window and the
///   last `longWindows` windows, a gate the candidate breaches and the baseline does not, or the
///   sequential test showing the candidate behind): the candidate is frozen and an incident is
///   recorded.
/// - **Hold** when the rule finds too few judged requests in an arm, or the split fails the
///   sample-ratio check.
/// - **Promote** when the last `cleanWindows` windows were clean and the sequential test on the
///   step's per-request rewards shows the candidate ahead. The last step is 100%: reaching it
///   completes the canary.
public final class CanaryController: Sendable {
    public struct Options: Sendable {
        public var steps: [Double] = [5, 25, 100]
        public var windowRequests = 100
        public var cleanWindowsToPromote = 2
        public var longWindows = 6
        /// Burn thresholds, the latency budget, the minimum per arm and the test's α.
        public var rule = CanaryRule.Options()
        public init() {}
    }

    public enum Action: Sendable, Equatable, Codable {
        case hold(reason: String)
        case promote(to: Double)
        case rollback(reason: String)
        case complete
    }

    public struct ArmWindow: Sendable, Codable, Equatable {
        public var requests: Int
        public var judged: Int
        public var reward: Double?
        public var faithfulness: Double?
        public var relevancy: Double?
        public var latencyP95Milliseconds: Double?
        public var errorRate: Double
    }

    public struct Evaluation: Sendable, Codable, Equatable {
        public var window: Int
        public var step: Double
        public var baseline: ArmWindow
        public var candidate: ArmWindow
        /// Bad share over budget, the last window and the last `longWindows` windows.
        public var errorBurnShort: Double
        public var errorBurnLong: Double
        public var latencyBurnShort: Double
        public var latencyBurnLong: Double
        public var sprtPValue: Double
        public var sampleRatioPValue: Double?
        public var action: Action
    }

    public let options: Options
    public let reward: RewardFunction
    public let split: TrafficSplit
    let rule: CanaryRule

    private struct Record {
        var arm: TrafficSplit.Arm
        var observation: ShadowComparison.Observation?
    }
    private struct State {
        var stepIndex = 0
        var frozen = false
        var finished = false
        var window: [Record] = []
        var recentCandidate: [[Record]] = []
        var stepRecords: [Record] = []
        var stepCounts: [TrafficSplit.Arm: Int] = [:]
        var cleanWindows = 0
        var sprt: MixtureSPRT
        var evaluations: [Evaluation] = []
    }
    private let state: Mutex<State>

    /// Starts the canary at the first step (the split's percentage is set to it).
    public init(split: TrafficSplit, reward: RewardFunction, options: Options = Options()) throws {
        precondition(!options.steps.isEmpty && options.steps.last == 100, "canary steps must end at 100")
        self.split = split
        self.reward = reward
        self.options = options
        rule = CanaryRule(reward: reward, options: options.rule)
        state = Mutex(State(sprt: MixtureSPRT(alpha: options.rule.alpha)))
        try split.setPercentage(options.steps[0])
    }

    public var evaluations: [Evaluation] { state.withLock { $0.evaluations } }
    public var isFrozen: Bool { state.withLock { $0.frozen } }
    public var isComplete: Bool { state.withLock { $0.finished } }
    public var step: Double { state.withLock { options.steps[$0.stepIndex] } }

    /// Records one served request (nil observation: no judgement, or the request failed before an
    /// answer); returns the window's evaluation when this request closed one.
    public func record(arm: TrafficSplit.Arm, observation: ShadowComparison.Observation?) -> Evaluation? {
        state.withLock { s -> Evaluation? in
            guard !s.frozen && !s.finished else { return nil }
            s.window.append(Record(arm: arm, observation: observation))
            guard s.window.count >= options.windowRequests else { return nil }
            let evaluation = evaluate(&s)
            s.evaluations.append(evaluation)
            s.window.removeAll(keepingCapacity: true)
            switch evaluation.action {
            case .rollback:
                s.frozen = true
                try? split.setPercentage(0)
            case let .promote(to):
                s.stepIndex += 1
                s.cleanWindows = 0
                s.stepRecords = []
                s.stepCounts = [:]
                s.sprt = MixtureSPRT(alpha: options.rule.alpha)
                try? split.setPercentage(to)
                if to == 100 { s.finished = true }
            case .complete:
                s.finished = true
            case .hold:
                break
            }
            return evaluation
        }
    }

    private func summary(_ records: [Record]) -> ArmWindow {
        let judged = records.compactMap(\.observation).filter { !$0.failed }
        let failed = records.filter { $0.observation?.failed ?? false }.count
        let n = Double(judged.count)
        let latencies = records.compactMap { $0.observation?.latencyMilliseconds }.sorted()
        return ArmWindow(
            requests: records.count, judged: judged.count,
            reward: judged.isEmpty ? nil : judged.map { $0.reward(reward.weights) }.reduce(0, +) / n,
            faithfulness: judged.isEmpty ? nil : judged.reduce(0) { $0 + $1.faithfulness } / n,
            relevancy: judged.isEmpty ? nil : judged.reduce(0) { $0 + $1.relevancy } / n,
            latencyP95Milliseconds: latencies.isEmpty ? nil : Percentile.sorted(latencies, 95),
            errorRate: records.isEmpty ? 0 : Double(failed) / Double(records.count))
    }

    /// A record as the rule reads it (no observation: nothing was judged, nothing failed).
    private func request(_ r: Record) -> CanaryRule.Request {
        guard let o = r.observation else {
            return CanaryRule.Request(category: "all", failed: false, latencyMilliseconds: nil, faithfulness: nil, relevancy: nil, reward: nil)
        }
        return CanaryRule.Request(category: "all", failed: o.failed, latencyMilliseconds: o.latencyMilliseconds, faithfulness: o.faithfulness,
                                  relevancy: o.relevancy, reward: o.reward(reward.weights))
    }

    private func evaluate(_ s: inout State) -> Evaluation {
        let step = options.steps[s.stepIndex]
        let candidateRecords = s.window.filter { $0.arm == .candidate }
        let baselineRecords = s.window.filter { $0.arm == .baseline }
        s.recentCandidate.append(candidateRecords)
        if s.recentCandidate.count > options.longWindows { s.recentCandidate.removeFirst() }
        s.stepRecords += s.window
        for r in s.window { s.stepCounts[r.arm, default: 0] += 1 }
        let look = CanaryRule.Look(
            candidate: candidateRecords.map(request), baseline: baselineRecords.map(request), recentCandidate: s.recentCandidate.joined().map(request),
            stepCandidate: s.stepRecords.filter { $0.arm == .candidate }.map(request), stepBaseline: s.stepRecords.filter { $0.arm == .baseline }.map(request),
            hasBaseline: step < 100)
        let judgement = rule.judge(look, categories: nil, sequential: &s.sprt)
        let srm = step < 100 && step > 0
            ? SampleRatioMismatch(observed: [s.stepCounts[.baseline] ?? 0, s.stepCounts[.candidate] ?? 0], expectedShares: [100 - step, step])
            : nil
        func evaluation(_ action: Action) -> Evaluation {
            Evaluation(window: s.evaluations.count, step: step, baseline: summary(baselineRecords), candidate: summary(candidateRecords),
                       errorBurnShort: judgement.errorBurnShort, errorBurnLong: judgement.errorBurnLong, latencyBurnShort: judgement.latencyBurnShort,
                       latencyBurnLong: judgement.latencyBurnLong, sprtPValue: judgement.sequentialPValue, sampleRatioPValue: srm?.pValue, action: action)
        }
        switch judgement.decision {
        case let .rollback(reason):
            return evaluation(.rollback(reason: reason))
        case let .hold(reason):
            s.cleanWindows = 0
            return evaluation(.hold(reason: reason))
        case .clean:
            break
        }
        if let srm, srm.mismatch {
            s.cleanWindows = 0
            return evaluation(.hold(reason: String(format: "sample-ratio mismatch (p = %.2g): the split is not %.0f/%.0f", srm.pValue, 100 - step, step)))
        }
        s.cleanWindows += 1
        if step == 100 { return evaluation(.complete) }
        if s.cleanWindows >= options.cleanWindowsToPromote && judgement.ahead {
            return evaluation(.promote(to: options.steps[s.stepIndex + 1]))
        }
        return evaluation(.hold(reason: "\(s.cleanWindows) clean window(s); sequential test p = \(String(format: "%.3g", judgement.sequentialPValue))"))
    }
}
