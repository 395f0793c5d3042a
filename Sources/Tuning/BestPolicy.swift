import Pipeline
import PPO
import TunerPolicy

/// Which of a run's policies is judged and deployed.
public enum PolicySelection: String, Sendable, Codable, CaseIterable {
    /// The update whose configurations score best on the train split (``OfflineTuning/trainReward(_:)``).
    case best
    /// The last update.
    case last
}

/// The best policy of a training run so far, by what its configurations score on the train split.
///
/// A run's last update is one draw from a noisy optimisation: near-ties between settings are
/// settled by which batches came last, and runs differ by seed (docs/benchmarks.md, "Keeping the
/// best update"). Like a checkpoint callback that keeps the best evaluated model, every update's
/// deterministic policy is scored — here exactly, on every train question, so the score has no
/// noise of its own — and the highest is kept. The test split is never looked at.
public struct BestPolicy {
    public private(set) var checkpoint: PolicyCheckpoint?

    /// `kept`: the best policy of an interrupted run, as saved (it carries its update and score).
    public init(resuming kept: PolicyCheckpoint? = nil) {
        checkpoint = kept?.selection == nil ? nil : kept
    }

    /// Scores `candidate`, the policy after update `update`, and keeps it when it beats the best
    /// so far (a tie keeps the earlier update, so a resumed run keeps what the uninterrupted one
    /// kept). Returns its train reward, the train report behind it and whether it was kept.
    public mutating func consider(_ candidate: PolicyCheckpoint, update: Int, tuning: OfflineTuning) throws
        -> (trainReward: Double, report: BatchReport, kept: Bool) {
        let (score, report) = try tuning.trainScore(Policy(checkpoint: candidate))
        guard score.isFinite else { throw PPOError.nonFinite(quantity: "train reward", location: "policy after update \(update)") }
        guard score > checkpoint?.selection?.score ?? -.infinity else { return (score, report, false) }
        var kept = candidate
        kept.selection = PolicyCheckpoint.Selection(update: update, score: score)
        checkpoint = kept
        return (score, report, true)
    }
}
