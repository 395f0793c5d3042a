import Foundation
import Pipeline
import Scoring
import Testing
import TrainingRuns
import TunerPolicy
import Tuning

/// The ablations as runs see them: a frozen head is held at its default in every configuration
/// the environment applies and in the grid the verdict chooses from; the plan covers the
/// specification's three ablations; each change reaches the run it names.
@Suite struct AblationTests {
    @Test func aFrozenHeadIsHeldAtItsDefaultEverywhere() throws {
        let (setup, system) = TrainingRunTests.demo
        var options = RAGTuningEnvironment.Options()
        options.frozenHeads = ["k", "rerank"]
        let frozen = try OfflineTuning(setup: setup, system: system, environmentOptions: options)
        let full = try OfflineTuning(setup: setup, system: system)
        let d = RAGTuningEnvironment.defaultConfiguration
        #expect(frozen.grid.allSatisfy { $0.k == d.k && $0.rerank == d.rerank })
        // Every other combination is kept once: the grid shrinks by the frozen heads' choices.
        let ks = setup.policy.actions.topKGrid.count, reranks = 2
        #expect(frozen.grid.count * ks * reranks == full.grid.count)
        let environment = frozen.environment(seed: 1)
        let layout = environment.layout
        for v in 0..<layout.variants.count {
            for rerank in [0.0, 1.0] {
                let c = environment.configuration(for: [Double(v), 20 - Double(layout.kRange.lowerBound), rerank, 0.3, 0])
                #expect(c.k == d.k && c.rerank == d.rerank && c.variant == layout.variants[v])
            }
        }
        options.frozenHeads = ["top_k"]
        #expect(throws: OfflineTuning.UnknownHead.self) { try OfflineTuning(setup: setup, system: system, environmentOptions: options) }
    }

    @Test func thePlanCoversTheThreeAblationsAndEachChangeReachesItsRun() throws {
        let (setup, _) = TrainingRunTests.demo
        let plan = Ablation.plan(gammas: [0.05, setup.policy.reward.gamma, 1], deltas: [0.5], policy: setup.policy)
        #expect(plan.map(\.name) == ["baseline", "gamma=0.05", "gamma=1.0", "delta=0.5", "frozen:variant", "frozen:k", "frozen:rerank",
                                     "frozen:fusion_weight", "frozen:template", "k:softmax"])
        let settings = try TrainingSettings(steps: 1024, seed: 1)
        let (gammaSetup, gammaSettings) = plan[1].applied(to: setup, settings)
        #expect(gammaSetup.policy.reward.gamma == 0.05 && gammaSetup.policy.reward.delta == setup.policy.reward.delta)
        #expect(gammaSetup.reward.weights.gamma == 0.05 && gammaSettings.environment.frozenHeads == nil)
        #expect(plan[6].applied(to: setup, settings).1.environment.frozenHeads == ["rerank"])
        #expect(plan[9].applied(to: setup, settings).0.policy.actions.topKDistribution == .softmax)
    }
}
