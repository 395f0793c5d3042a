import Foundation
import Pipeline
import PPO
import Testing
import TunerPolicy
import Tuning

/// Keeping a run's best update: the train-split score is the environment's reward of each
/// category's configuration over all of its train questions, the highest-scoring update is kept
/// (ties keep the earlier), and what is kept survives a write, a read and a resumed run.
@Suite struct BestPolicyTests {
    @Test func keepsTheUpdateWhoseConfigurationsScoreBestOnTrain() throws {
        let (tuning, trainer) = try RAGTuningEnvironmentTests.trainer(steps: 4_096, seed: 2)
        var best = BestPolicy()
        var scores: [Double] = []
        var policies: [PolicyCheckpoint] = []
        try trainer.train { metrics in
            policies.append(trainer.checkpoint)
            scores.append((try? best.consider(trainer.checkpoint, update: metrics.update, tuning: tuning))?.trainReward ?? .nan)
            return true
        }
        #expect(scores.count == 8 && scores.allSatisfy(\.isFinite))
        #expect(Set(scores).count > 1, "training moved the configurations: \(scores)")
        // The first of equal scores: a tie keeps the earlier update.
        let top = scores.indices.max { scores[$0] < scores[$1] }!
        let kept = try #require(best.checkpoint)
        #expect(kept.selection == PolicyCheckpoint.Selection(update: top, score: scores[top]))
        let sameWeights = kept.parameters == policies[top].parameters
        #expect(sameWeights)

        // The score, by another route: each category's configuration scored on the whole train
        // split, its category's summary (under that category's gates) weighted by its size.
        let chosen = tuning.proposedConfigurations(Policy(checkpoint: kept), categories: tuning.trainCache.categories)
        var total = 0.0, count = 0
        for (category, configuration) in chosen {
            let summary = try #require(try tuning.trainCache.evaluate(configuration, reward: tuning.setup.reward).perCategory[category])
            total += Double(summary.n) * summary.reward.reward
            count += summary.n
        }
        #expect(count == tuning.trainCache.queries.count)
        #expect(abs(total / Double(count) - scores[top]) < 1e-12)

        // Written and read back, it resumes a run's choice: the same policy again (a tie) and a
        // worse one are not kept; a checkpoint without a selection starts afresh.
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("best-\(UUID().uuidString).ckpt")
        defer { try? FileManager.default.removeItem(at: url) }
        try kept.write(to: url)
        let read = try PolicyCheckpoint.read(from: url)
        #expect(read.selection == kept.selection && read.parameters == kept.parameters)
        var resumed = BestPolicy(resuming: read)
        let again = try resumed.consider(policies[top], update: scores.count, tuning: tuning)
        #expect(again.trainReward == scores[top] && !again.kept)
        let worst = scores.indices.min { scores[$0] < scores[$1] }!
        #expect(try !resumed.consider(policies[worst], update: scores.count + 1, tuning: tuning).kept)
        #expect(resumed.checkpoint?.selection?.update == top)
        #expect(BestPolicy(resuming: policies[0]).checkpoint == nil)
    }
}
