import Foundation
import Pipeline
import Retrieval
import Scoring
import TunerPolicy

/// A decision log (docs/decision-log.md) read back: each decision joined with its outcome by
/// request id and given a reward, ready for off-policy evaluation. Lines that do not decode are
/// counted and reported; only more than `maxBadLineFraction` of them is fatal.
public struct DecisionLog: Sendable {
    /// Decisions with an outcome and a reward, in log order.
    public var records: [DecisionRecord]
    public var decisionCount: Int
    public var outcomeCount: Int
    public var badLines: [DatasetError]
    /// Decisions whose outcome never arrived or carried nothing to compute a reward from.
    public var withoutReward: Int
    /// Outcomes for request ids with no decision in the log.
    public var orphanOutcomes: Int
    /// Decisions per policy version.
    public var policyVersions: [String: Int]

    public enum Failure: Error, CustomStringConvertible {
        case tooManyBadLines(file: String, bad: Int, lines: Int, allowed: Double, first: DatasetError)
        case incompleteDecision(file: String, line: Int, missing: String)

        public var description: String {
            switch self {
            case let .tooManyBadLines(file, bad, lines, allowed, first):
                "\(file): \(bad) of \(lines) lines are malformed, more than the \(allowed * 100)% allowed; the first: \(first)"
            case let .incompleteDecision(file, line, missing):
                "\(file):\(line): a decision line needs '\(missing)'"
            }
        }
    }

    /// Reads `url`; outcomes without a `reward` get one from `weights`
    /// (``PolicyConfiguration/RewardWeights/queryReward``) when they report faithfulness,
    /// relevancy, latency and cost.
    public static func read(_ url: URL, weights: PolicyConfiguration.RewardWeights = .init(), maxBadLineFraction: Double = 0.01) throws -> DecisionLog {
        let (rows, bad) = try JSONLines.readTolerating(DecisionLogEntry.self, from: url)
        let total = rows.count + bad.count
        if let first = bad.first, Double(bad.count) > maxBadLineFraction * Double(total) {
            throw Failure.tooManyBadLines(file: url.path, bad: bad.count, lines: total, allowed: maxBadLineFraction, first: first)
        }
        var outcomes: [String: DecisionOutcome] = [:]
        for (_, entry) in rows where entry.event == .outcome {
            if let outcome = entry.outcome { outcomes[entry.requestID] = outcomes[entry.requestID]?.merging(outcome) ?? outcome }
        }
        var log = DecisionLog(records: [], decisionCount: 0, outcomeCount: outcomes.count, badLines: bad,
                              withoutReward: 0, orphanOutcomes: 0, policyVersions: [:])
        var decided = Set<String>()
        for (line, entry) in rows where entry.event == .decision {
            guard let context = entry.context else { throw Failure.incompleteDecision(file: url.path, line: line, missing: "context") }
            guard let action = entry.action else { throw Failure.incompleteDecision(file: url.path, line: line, missing: "action") }
            log.decisionCount += 1
            decided.insert(entry.requestID)
            if let version = entry.policyVersion { log.policyVersions[version, default: 0] += 1 }
            let reported = [entry.outcome, outcomes[entry.requestID]].compactMap { $0 }
            guard let outcome = reported.dropFirst().reduce(reported.first, { $0?.merging($1) }), let reward = reward(outcome, weights) else {
                log.withoutReward += 1
                continue
            }
            log.records.append(DecisionRecord(context: context, action: action, propensity: entry.propensity, reward: reward))
        }
        log.orphanOutcomes = outcomes.keys.filter { !decided.contains($0) }.count
        return log
    }

    static func reward(_ o: DecisionOutcome, _ weights: PolicyConfiguration.RewardWeights) -> Double? {
        if let reward = o.reward { return reward }
        guard let f = o.faithfulness, let r = o.relevancy, let latency = o.latencyMilliseconds, let cost = o.costUSD else { return nil }
        return weights.queryReward(faithfulness: f, relevancy: r, latencyMilliseconds: latency, costUSD: cost)
    }

    /// One line for the command line: what was read and what was left out.
    public var summary: String {
        var parts = ["\(decisionCount) decisions", "\(outcomeCount) outcomes", "\(records.count) joined with a reward"]
        if withoutReward > 0 { parts.append("\(withoutReward) decisions without a reward left out") }
        if orphanOutcomes > 0 { parts.append("\(orphanOutcomes) outcomes without a decision") }
        if !badLines.isEmpty { parts.append("\(badLines.count) malformed line\(badLines.count == 1 ? "" : "s") skipped (first: \(badLines[0]))") }
        return parts.joined(separator: "; ")
    }
}
