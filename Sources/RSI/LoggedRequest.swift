import Foundation
import NumericCore
import Pipeline
import Retrieval
import Scoring
import TunerPolicy

/// A decision of the decision log joined with its (merged) outcome lines: one served request as
/// the analyser, the hypothesis generator and the deployment monitor see it.
public struct LoggedRequest: Sendable, Equatable {
    public var id: String
    public var time: Date
    public var category: String
    public var settings: RAGSettings?
    /// The policy or production-configuration version that decided.
    public var version: String?
    public var arm: TrafficSplit.Arm?
    public var question: String?
    public var outcome: DecisionOutcome

    /// (faithfulness + relevancy)/2 where judged, else the feedback; nil without either.
    public var quality: Double? {
        if let f = outcome.faithfulness, let r = outcome.relevancy { return (f + r) / 2 }
        return outcome.feedback
    }

    /// The requests of a request log (the format `tuner train --log` replays, docs/training.md):
    /// one served request per line with what the service measured — latency, cost, feedback, no
    /// judged quality; each id is the file's name and line. Malformed lines are skipped.
    public static func read(requestLog url: URL) throws -> [LoggedRequest] {
        let (rows, _) = try JSONLines.readTolerating(RequestLog.Entry.self, from: url)
        return rows.compactMap { line, e in
            guard let time = RequestLog.time(e.timestamp) else { return nil }
            return LoggedRequest(
                id: "\(url.lastPathComponent):\(line)", time: time, category: e.category ?? "unknown", settings: e.configuration, version: nil,
                arm: nil, question: e.question ?? e.text,
                outcome: DecisionOutcome(latencyMilliseconds: e.latencyMilliseconds, costUSD: e.costUSD, feedback: e.feedback))
        }
    }

    /// The log's size now: where the requests logged from now on begin.
    public static func end(of log: URL) -> UInt64 {
        ((try? FileManager.default.attributesOfItem(atPath: log.path))?[.size] as? NSNumber)?.uint64Value ?? 0
    }

    /// The outcome's reward as logged, else the per-query reward from its parts; nil when a part is missing.
    public func reward(_ weights: PolicyConfiguration.RewardWeights) -> Double? {
        if let reward = outcome.reward { return reward }
        guard let f = outcome.faithfulness, let r = outcome.relevancy, let l = outcome.latencyMilliseconds, let c = outcome.costUSD else { return nil }
        return weights.queryReward(faithfulness: f, relevancy: r, latencyMilliseconds: l, costUSD: c)
    }

    /// Every decision of `log` (from byte `offset` on) that has an outcome, in log order;
    /// malformed lines are skipped.
    public static func read(_ log: URL, offset: UInt64 = 0) throws -> [LoggedRequest] {
        let (rows, _) = try JSONLines.readTolerating(DecisionLogEntry.self, from: log, offset: offset)
        var outcomes: [String: DecisionOutcome] = [:]
        for (_, e) in rows where e.event == .outcome {
            if let o = e.outcome { outcomes[e.requestID] = outcomes[e.requestID]?.merging(o) ?? o }
        }
        return rows.compactMap { _, e in
            guard e.event == .decision, let time = RequestLog.time(e.timestamp) else { return nil }
            guard let outcome = [e.outcome, outcomes[e.requestID]].compactMap({ $0 }).reduce(nil, { $0?.merging($1) ?? $1 }) else { return nil }
            return LoggedRequest(id: e.requestID, time: time, category: e.category ?? "unknown", settings: e.configuration.flatMap { try? RAGSettings($0) },
                                 version: e.policyVersion, arm: e.arm, question: e.question, outcome: outcome)
        }
    }
}
