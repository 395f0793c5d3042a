import Foundation
import Tracking

/// What the experience database says about kinds of change: for each kind, and each kind under a
/// condition (a category, a load bucket, a corpus-size bucket), how often it was tried to the end
/// (tested and deployed or not) and how often it succeeded (kept in production). Ranking uses it:
/// a hypothesis's score is its expected gain times the smoothed success rate of the most specific
/// pattern with enough support, over the prior 1/2 — so patterns that keep failing are demoted and
/// ones that keep working promoted, with the evidence in the hypothesis's note.
public struct PatternExtraction: Sendable {
    public struct Pattern: Sendable, Codable, Equatable {
        public var kind: Hypothesis.Kind
        /// nil for the kind over all conditions; else "category=…", a load or a corpus bucket.
        public var condition: String?
        public var attempts: Int
        public var successes: Int
        /// Share of all finished attempts that this pattern covers.
        public var support: Double
        /// successes / attempts.
        public var confidence: Double
        /// (successes + 1) / (attempts + 2): the rate ranking uses, pulled towards 1/2 when evidence is thin.
        public var smoothedRate: Double { Double(successes + 1) / Double(attempts + 2) }

        public var description: String {
            "\(kind.rawValue)\(condition.map { " when \($0)" } ?? ""): \(successes) of \(attempts) succeeded"
                + String(format: " (support %.2f, confidence %.2f)", support, confidence)
        }
    }

    public var patterns: [Pattern]
    /// Patterns need this many attempts before they move a score.
    public static let minimumAttempts = 2

    /// Finished attempts: tests that failed, deployments kept or rolled back.
    static func outcome(_ status: HypothesisRecord.Status) -> Bool? {
        switch status {
        case .kept: true
        case .failed, .rolledBack: false
        default: nil
        }
    }

    public init(_ records: [HypothesisRecord]) {
        let finished = records.compactMap { r in Self.outcome(r.status).map { (r, $0) } }
        var tally: [String: (kind: Hypothesis.Kind, condition: String?, attempts: Int, successes: Int)] = [:]
        for (r, success) in finished {
            for condition in [nil, "category=\(r.category)", r.loadBucket, r.corpusBucket] as [String?] {
                let key = "\(r.kind.rawValue)|\(condition ?? "")"
                var entry = tally[key] ?? (r.kind, condition, 0, 0)
                entry.attempts += 1
                if success { entry.successes += 1 }
                tally[key] = entry
            }
        }
        patterns = tally.values.map { t in
            Pattern(kind: t.kind, condition: t.condition, attempts: t.attempts, successes: t.successes,
                    support: Double(t.attempts) / Double(max(finished.count, 1)), confidence: Double(t.successes) / Double(t.attempts))
        }.sorted { ($0.kind.rawValue, $0.condition ?? "", $0.attempts) < ($1.kind.rawValue, $1.condition ?? "", $1.attempts) }
    }

    /// The most specific pattern with enough attempts for a hypothesis of `kind` in `category`.
    public func pattern(for kind: Hypothesis.Kind, category: String) -> Pattern? {
        let eligible = patterns.filter { $0.kind == kind && $0.attempts >= Self.minimumAttempts }
        return eligible.first { $0.condition == "category=\(category)" } ?? eligible.first { $0.condition == nil }
    }

    /// `hypothesis` with its score weighted by its pattern, and a note when the pattern moved it.
    public func ranked(_ hypothesis: Hypothesis) -> Hypothesis {
        var h = hypothesis
        h.score = h.evidence.expectedRewardChange.estimate
        guard let p = pattern(for: h.kind, category: h.category) else { return h }
        let factor = p.smoothedRate / 0.5
        h.score *= factor
        if abs(factor - 1) > 1e-9 {
            h.patternNote = (factor < 1 ? "demoted" : "promoted") + String(format: " ×%.2f: ", factor) + p.description
        }
        return h
    }
}
