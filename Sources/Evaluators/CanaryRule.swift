import Foundation
import NumericCore
import Scoring
import Statistics

/// The one rule that judges a candidate against a baseline on live traffic. `tuner canary`
/// applies it to each evaluation window of its split traffic (``CanaryController``); the
/// self-improvement loop's deployment monitor to each step of a rollout, read back from the
/// decision log. In order:
///
/// 1. **Roll back** when a burn-rate alert fires on the candidate: the share of bad requests
///    (errors; latencies over the p95 gate) over its budget (the error-rate gate; `latencyBudget`
///    for latency), over the latest requests and over the longer recent run of them, both at or
///    above their thresholds.
/// 2. **Hold** when either arm has fewer than `minimumPerArm` judged requests, or — judged by
///    category — a category has fewer than `minimumPerCategory` of its own on the candidate.
/// 3. **Roll back** when the candidate breaches a gate that the baseline does not (each category
///    under its own gates; a breach both share is the service's, not the candidate's).
/// 4. **Roll back** when the sequential test on per-request rewards (mixture SPRT, valid however
///    often it is looked at) shows the candidate behind by more than `regressionTolerance`.
/// 5. Otherwise the look is **clean**; `ahead` says whether the same test shows the candidate
///    ahead, which is what a promotion needs.
public struct CanaryRule: Sendable {
    public struct Options: Sendable, Equatable {
        public var minimumPerArm = 10
        /// Requests of a category on the candidate before its gates are judged (by category only).
        public var minimumPerCategory = 20
        public var shortBurnThreshold = 6.0
        public var longBurnThreshold = 3.0
        /// Share of requests allowed over the latency gate (the gate is on p95).
        public var latencyBudget = 0.05
        public var alpha = 0.05
        /// How far behind (mean per-request reward) the candidate may be shown to be and still pass.
        public var regressionTolerance = 0.0
        public init() {}
    }

    /// One served request as the rule reads it; a missing measure is not judged.
    public struct Request: Sendable, Equatable {
        public var category: String
        public var failed: Bool
        public var latencyMilliseconds: Double?
        public var faithfulness: Double?
        public var relevancy: Double?
        /// The per-query reward, where its parts are known.
        public var reward: Double?

        public init(category: String, failed: Bool, latencyMilliseconds: Double?, faithfulness: Double?, relevancy: Double?, reward: Double?) {
            self.category = category
            self.failed = failed
            self.latencyMilliseconds = latencyMilliseconds
            self.faithfulness = faithfulness
            self.relevancy = relevancy
            self.reward = reward
        }
    }

    /// What one look at the traffic sees: the latest requests of both arms, the candidate's
    /// longer recent run (the long burn window), and both arms' requests since the step began
    /// (what the sequential test reads).
    public struct Look: Sendable {
        public var candidate: [Request]
        public var baseline: [Request]
        public var recentCandidate: [Request]
        public var stepCandidate: [Request]
        public var stepBaseline: [Request]
        /// False when the candidate serves all traffic and nothing runs beside it to compare.
        public var hasBaseline = true

        public init(candidate: [Request], baseline: [Request], recentCandidate: [Request], stepCandidate: [Request], stepBaseline: [Request],
                    hasBaseline: Bool = true) {
            self.candidate = candidate
            self.baseline = baseline
            self.recentCandidate = recentCandidate
            self.stepCandidate = stepCandidate
            self.stepBaseline = stepBaseline
            self.hasBaseline = hasBaseline
        }

        /// A look at a step as a whole: the latest requests are all of the step's.
        public init(stepCandidate: [Request], stepBaseline: [Request]) {
            self.init(candidate: stepCandidate, baseline: stepBaseline, recentCandidate: stepCandidate, stepCandidate: stepCandidate,
                      stepBaseline: stepBaseline)
        }
    }

    public enum Decision: Sendable, Equatable {
        case rollback(reason: String)
        case hold(reason: String)
        case clean
    }

    public struct Judgement: Sendable, Equatable {
        public var decision: Decision
        /// Bad share over budget, for the latest requests and the longer recent run.
        public var errorBurnShort: Double
        public var errorBurnLong: Double
        public var latencyBurnShort: Double
        public var latencyBurnLong: Double
        /// "category: gate value vs threshold" for each gate the candidate breaches and the baseline does not.
        public var candidateBreaches: [String]
        public var sequentialPValue: Double
        /// The sequential test shows the candidate ahead.
        public var ahead: Bool
    }

    public let reward: RewardFunction
    public let options: Options

    public init(reward: RewardFunction, options: Options = Options()) {
        self.reward = reward
        self.options = options
    }

    /// Judges one look. `categories`: judge these categories' requests each under its own gates;
    /// nil judges all requests together under the overall gates. `sequential` carries the test
    /// across the looks of one step (a new step starts a new one).
    public func judge(_ look: Look, categories: [String]?, sequential: inout MixtureSPRT) -> Judgement {
        let short = burn(look.candidate), long = burn(look.recentCandidate)
        let candidateRewards = look.stepCandidate.compactMap(\.reward), baselineRewards = look.stepBaseline.compactMap(\.reward)
        let candidateSample = MixtureSPRT.Sample(candidateRewards), baselineSample = MixtureSPRT.Sample(baselineRewards)
        let rejects = sequential.observe(treatment: candidateSample, control: baselineSample)
        let difference = candidateSample.mean - baselineSample.mean
        var judgement = Judgement(
            decision: .clean, errorBurnShort: short.errors, errorBurnLong: long.errors, latencyBurnShort: short.latency,
            latencyBurnLong: long.latency, candidateBreaches: [], sequentialPValue: sequential.pValue, ahead: rejects && difference > 0)

        let groups = categories.map { names in names.map { name in (name, reward.forCategory(name).gates, { (r: Request) in r.category == name }) } }
            ?? [("all", reward.gates, { (_: Request) in true })]
        let perCategory = categories != nil
        for (name, gates, member) in groups {
            let mine = look.candidate.filter(member)
            guard !perCategory || mine.count >= options.minimumPerCategory else { continue }
            let theirs = Set(Self.breaches(look.baseline.filter(member), gates: gates).map(\.gate))
            for breach in Self.breaches(mine, gates: gates) where !theirs.contains(breach.gate) {
                judgement.candidateBreaches.append(perCategory ? "\(name): \(breach.text)" : breach.text)
            }
        }

        if short.errors >= options.shortBurnThreshold && long.errors >= options.longBurnThreshold {
            judgement.decision = .rollback(reason: String(format: "error-rate burn %.1f× (latest) and %.1f× (recent) of budget", short.errors, long.errors))
        } else if short.latency >= options.shortBurnThreshold && long.latency >= options.longBurnThreshold {
            judgement.decision = .rollback(reason: String(format: "latency burn %.1f× (latest) and %.1f× (recent) of budget", short.latency, long.latency))
        } else if let reason = tooFew(look, categories: categories) {
            judgement.decision = .hold(reason: reason)
        } else if !judgement.candidateBreaches.isEmpty {
            judgement.decision = .rollback(reason: "the candidate breaches what the baseline does not: " + judgement.candidateBreaches.joined(separator: "; "))
        } else if rejects && difference < -options.regressionTolerance {
            judgement.decision = .rollback(reason: String(
                format: "reward %.4f vs %.4f: the sequential test (p = %.3g) shows the candidate behind by more than %.4f",
                candidateSample.mean, baselineSample.mean, sequential.pValue, options.regressionTolerance))
        }
        return judgement
    }

    /// Why the look has too little to judge, or nil.
    func tooFew(_ look: Look, categories: [String]?) -> String? {
        let candidate = look.candidate.filter { !$0.failed && $0.reward != nil }.count
        let baseline = look.baseline.filter { !$0.failed && $0.reward != nil }.count
        guard candidate >= options.minimumPerArm && (baseline >= options.minimumPerArm || !look.hasBaseline) else {
            return "low traffic: \(candidate) judged candidate and \(baseline) baseline requests, \(options.minimumPerArm) each needed"
        }
        let unjudged = (categories ?? []).sorted().filter { name in look.candidate.filter { $0.category == name }.count < options.minimumPerCategory }
        guard unjudged.isEmpty else {
            return unjudged.map { name in "category \(name): \(look.candidate.filter { $0.category == name }.count) requests on the candidate" }
                .joined(separator: "; ") + "; \(options.minimumPerCategory) each needed to judge its gates"
        }
        return nil
    }

    /// Bad share over budget for errors and for latencies over the p95 gate.
    func burn(_ requests: [Request]) -> (errors: Double, latency: Double) {
        guard !requests.isEmpty else { return (0, 0) }
        let n = Double(requests.count)
        let errors = Double(requests.filter(\.failed).count) / n
        let slow = Double(requests.filter { ($0.latencyMilliseconds ?? 0) > reward.gates.latencyP95MaxMilliseconds }.count) / n
        return (errors / max(reward.gates.errorRateMax, 1e-9), slow / options.latencyBudget)
    }

    /// The gates `requests` breach together: means of the judged quality, the p95 of the measured
    /// latencies, the error rate of all. A measure no request has breaches nothing.
    public static func breaches(_ requests: [Request], gates: PolicyConfiguration.GateThresholds) -> [(gate: String, text: String)] {
        guard !requests.isEmpty else { return [] }
        func mean(_ values: [Double]) -> Double? { values.isEmpty ? nil : values.reduce(0, +) / Double(values.count) }
        let judged = requests.filter { !$0.failed }
        let latencies = requests.compactMap(\.latencyMilliseconds).sorted()
        return GateCheck.breaches(
            faithfulness: mean(judged.compactMap(\.faithfulness)), relevancy: mean(judged.compactMap(\.relevancy)),
            latencyP95Milliseconds: latencies.isEmpty ? nil : Percentile.sorted(latencies, 95),
            errorRate: Double(requests.filter(\.failed).count) / Double(requests.count), gates: gates)
    }
}

/// The hard gates as observed requests are checked: the analyser on a window, the A/B tests on
/// an arm, the canary rule on a look. A measure that is missing breaches nothing.
public enum GateCheck {
    /// Each breached gate's name and "name value vs threshold".
    public static func breaches(faithfulness: Double?, relevancy: Double?, latencyP95Milliseconds: Double?, errorRate: Double,
                                gates: PolicyConfiguration.GateThresholds) -> [(gate: String, text: String)] {
        var breaches: [(String, String)] = []
        if let f = faithfulness, f < gates.faithfulnessMin { breaches.append(("faithfulness", String(format: "faithfulness %.3f < %.3f", f, gates.faithfulnessMin))) }
        if let r = relevancy, r < gates.relevancyMin { breaches.append(("relevancy", String(format: "relevancy %.3f < %.3f", r, gates.relevancyMin))) }
        if let p95 = latencyP95Milliseconds, p95 > gates.latencyP95MaxMilliseconds {
            breaches.append(("p95 latency", String(format: "p95 latency %.0f ms > %.0f ms", p95, gates.latencyP95MaxMilliseconds)))
        }
        if errorRate >= gates.errorRateMax { breaches.append(("error rate", String(format: "error rate %.3f ≥ %.3f", errorRate, gates.errorRateMax))) }
        return breaches
    }
}
