import Foundation
import NumericCore
import Scoring
import Statistics
import Synchronization
import TunerPolicy

/// The canary's decisions, one per evaluation window of `windowRequests` requests: hold,
/// promote to the next traffic step, roll back, or complete.
///
/// - **Roll back** at once when the candidate's window breaches a gate (faithfulness, relevancy,
///   p95 latency, error rate) or a burn-rate alert fires: the share of bad requests (errors;
///   latencies over the p95 gate) divided by its budget (the error-rate gate; 5% for latency), over
///   the last window and over the last `longWindows` windows, both at or above their thresholds.
///   The candidate is frozen and an incident is recorded.
/// - **Hold** when the window has fewer than `minimumPerArm` judged candidate or baseline requests
///   (low traffic, missing data), or the split fails the sample-ratio check.
/// - **Promote** when the last `cleanWindowsToPromote` windows were clean and the mixture SPRT on
///   the step's per-request rewards (candidate against baseline, always valid however often it is
///   looked at) rejects "no difference" with the candidate ahead. The last step is 100%:
///   reaching it completes the canary.
public final class CanaryController: Sendable {
    public struct Options: Sendable {
        public var steps: [Double] = [5, 25, 100]
        public var windowRequests = 100
        public var minimumPerArm = 10
        public var cleanWindowsToPromote = 2
        public var longWindows = 6
        public var shortBurnThreshold = 6.0
        public var longBurnThreshold = 3.0
        /// Share of requests allowed over the latency gate (the gate is on p95).
        public var latencyBudget = 0.05
        public var alpha = 0.05
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
    public let router: CanaryRouter

    private struct Record {
        var arm: CanaryRouter.Arm
        var observation: ShadowComparison.Observation?
    }
    private struct State {
        var stepIndex = 0
        var frozen = false
        var finished = false
        var window: [Record] = []
        var recentCandidate: [[Record]] = []
        var stepRewards: [CanaryRouter.Arm: [Double]] = [:]
        var stepCounts: [CanaryRouter.Arm: Int] = [:]
        var cleanWindows = 0
        var sprt: MixtureSPRT
        var evaluations: [Evaluation] = []
    }
    private let state: Mutex<State>

    /// Starts the canary at the first step (the router's percentage is set to it).
    public init(router: CanaryRouter, reward: RewardFunction, options: Options = Options()) throws {
        precondition(!options.steps.isEmpty && options.steps.last == 100, "canary steps must end at 100")
        self.router = router
        self.reward = reward
        self.options = options
        state = Mutex(State(sprt: MixtureSPRT(alpha: options.alpha)))
        try router.setPercentage(options.steps[0])
    }

    public var evaluations: [Evaluation] { state.withLock { $0.evaluations } }
    public var isFrozen: Bool { state.withLock { $0.frozen } }
    public var isComplete: Bool { state.withLock { $0.finished } }
    public var step: Double { state.withLock { options.steps[$0.stepIndex] } }

    /// Records one served request (nil observation: no judgement, or the request failed before an
    /// answer); returns the window's evaluation when this request closed one.
    public func record(arm: CanaryRouter.Arm, observation: ShadowComparison.Observation?) -> Evaluation? {
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
                try? router.setPercentage(0)
            case let .promote(to):
                s.stepIndex += 1
                s.cleanWindows = 0
                s.stepRewards = [:]
                s.stepCounts = [:]
                s.sprt = MixtureSPRT(alpha: options.alpha)
                try? router.setPercentage(to)
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
            reward: judged.isEmpty ? nil : judged.map(queryReward).reduce(0, +) / n,
            faithfulness: judged.isEmpty ? nil : judged.reduce(0) { $0 + $1.faithfulness } / n,
            relevancy: judged.isEmpty ? nil : judged.reduce(0) { $0 + $1.relevancy } / n,
            latencyP95Milliseconds: latencies.isEmpty ? nil : Percentile.sorted(latencies, 95),
            errorRate: records.isEmpty ? 0 : Double(failed) / Double(records.count))
    }

    func queryReward(_ o: ShadowComparison.Observation) -> Double { o.reward(reward.weights) }

    /// Bad share over budget for errors and for latencies over the p95 gate.
    private func burn(_ records: [Record]) -> (errors: Double, latency: Double) {
        guard !records.isEmpty else { return (0, 0) }
        let n = Double(records.count)
        let errors = Double(records.filter { $0.observation?.failed ?? false }.count) / n
        let slow = Double(records.filter { ($0.observation?.latencyMilliseconds ?? 0) > reward.gates.latencyP95MaxMilliseconds }.count) / n
        return (errors / max(reward.gates.errorRateMax, 1e-9), slow / options.latencyBudget)
    }

    private func evaluate(_ s: inout State) -> Evaluation {
        let step = options.steps[s.stepIndex]
        let candidateRecords = s.window.filter { $0.arm == .candidate }
        let baselineRecords = s.window.filter { $0.arm == .baseline }
        s.recentCandidate.append(candidateRecords)
        if s.recentCandidate.count > options.longWindows { s.recentCandidate.removeFirst() }
        let candidate = summary(candidateRecords)
        let baseline = summary(baselineRecords)
        let short = burn(candidateRecords)
        let long = burn(s.recentCandidate.flatMap { $0 })
        for r in s.window {
            s.stepCounts[r.arm, default: 0] += 1
            if let o = r.observation { s.stepRewards[r.arm, default: []].append(queryReward(o)) }
        }
        let srm = step < 100 && step > 0
            ? SampleRatioMismatch(observed: [s.stepCounts[.baseline] ?? 0, s.stepCounts[.candidate] ?? 0], expectedShares: [100 - step, step])
            : nil
        let candidateSample = MixtureSPRT.Sample(s.stepRewards[.candidate] ?? [])
        let baselineSample = MixtureSPRT.Sample(s.stepRewards[.baseline] ?? [])
        let sprtRejects = s.sprt.observe(treatment: candidateSample, control: baselineSample)
        func evaluation(_ action: Action) -> Evaluation {
            Evaluation(window: s.evaluations.count, step: step, baseline: baseline, candidate: candidate,
                       errorBurnShort: short.errors, errorBurnLong: long.errors, latencyBurnShort: short.latency, latencyBurnLong: long.latency,
                       sprtPValue: s.sprt.pValue, sampleRatioPValue: srm?.pValue, action: action)
        }

        if short.errors >= options.shortBurnThreshold && long.errors >= options.longBurnThreshold {
            return evaluation(.rollback(reason: String(format: "error-rate burn %.1f× (window) and %.1f× (last %d windows) of budget", short.errors, long.errors, s.recentCandidate.count)))
        }
        if short.latency >= options.shortBurnThreshold && long.latency >= options.longBurnThreshold {
            return evaluation(.rollback(reason: String(format: "latency burn %.1f× (window) and %.1f× (last %d windows) of budget", short.latency, long.latency, s.recentCandidate.count)))
        }
        guard candidate.judged >= options.minimumPerArm, baseline.judged >= options.minimumPerArm || step == 100 else {
            s.cleanWindows = 0
            return evaluation(.hold(reason: "low traffic: \(candidate.judged) judged candidate and \(baseline.judged) baseline requests in the window, \(options.minimumPerArm) needed"))
        }
        let gates = reward.gateResults(BatchMeasurement(
            faithfulness: candidate.faithfulness ?? 0, relevancy: candidate.relevancy ?? 0,
            latencyP95Milliseconds: candidate.latencyP95Milliseconds ?? 0, costUSD: 0, errorRate: candidate.errorRate,
            violationRate: 0, qualitySpread: 0))
        if let breach = gates.first(where: { !$0.passed }) {
            return evaluation(.rollback(reason: "gate \(breach.name) breached by the candidate: \(breach.value) against \(breach.threshold)"))
        }
        if let srm, srm.mismatch {
            s.cleanWindows = 0
            return evaluation(.hold(reason: String(format: "sample-ratio mismatch (p = %.2g): the split is not %.0f/%.0f", srm.pValue, 100 - step, step)))
        }
        s.cleanWindows += 1
        if step == 100 { return evaluation(.complete) }
        let ahead = candidateSample.mean > baselineSample.mean
        if s.cleanWindows >= options.cleanWindowsToPromote && sprtRejects && ahead {
            return evaluation(.promote(to: options.steps[s.stepIndex + 1]))
        }
        return evaluation(.hold(reason: "\(s.cleanWindows) clean window(s); sequential test p = \(String(format: "%.3g", s.sprt.pValue))\(sprtRejects && !ahead ? ", candidate behind" : "")"))
    }
}
