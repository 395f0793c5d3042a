import ArgumentParser
import Evaluation
import Foundation
import NumericCore
import PPO
import TunerEnvironment

extension Tuner {
    struct Train: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Learn a per-category RAG configuration with PPO and judge it on the held-out split.",
            discussion: """
                --mode offline trains on the train split of a frozen dataset slice through the evaluation \
                cache, then compares the learned configurations on the test split with the default static \
                configuration, the best static configuration of the grid and the per-category oracle (both \
                chosen on the train split), as paired differences with 95% bootstrap intervals.
                """)

        enum Mode: String, ExpressibleByArgument { case offline }

        @Option(help: "Training mode: offline.")
        var mode: Mode

        @OptionGroup var data: DatasetOptions

        @Option(help: "Environment steps (batches of queries) to train for.")
        var steps = 40_000

        @Option(help: "Queries per batch.")
        var batchSize = 100

        @Option(help: "Seed of the trainer, the environments and the bootstrap.")
        var seed: UInt64 = 1

        @Option(name: .customLong("set"), help: "Override a PPO hyperparameter: --set epochs=10 (repeatable).")
        var overrides: [String] = []

        @Option(help: "Write the policy checkpoint here.")
        var out: String?

        @Flag(help: "Print one JSON object instead of tables.")
        var json = false

        func validate() throws {
            guard steps >= 1_000 else { throw ValidationError("--steps must be at least 1,000, got \(steps)") }
            guard (10...5_000).contains(batchSize) else { throw ValidationError("--batch-size must lie in 10...5000, got \(batchSize)") }
        }

        func run() async throws {
            BLAS.setThreads(1)
            let clock = ContinuousClock.now
            let context = try data.load(defaultDataset: "datasets/demo")
            if !json { context.printHeader() }
            var environmentOptions = RAGTuningEnvironment.Options()
            environmentOptions.batchSize = batchSize
            let tuning = try OfflineTuning(setup: context.setup, system: context.system, environmentOptions: environmentOptions)
            var ppo = try PPOConfiguration.ragTuning.applying(overrides: overrides)
            ppo.totalSteps = steps
            ppo.seed = seed
            let trainer = try tuning.trainer(ppo)
            try trainer.train { metrics in
                if !json && (metrics.update % 10 == 0 || trainer.isFinished) {
                    let elapsed = ContinuousClock.now - clock
                    print(String(format: "update %4d/%d  steps %7d  reward %7.4f  KL %.4f  entropy %.3f  %@ elapsed",
                                 metrics.update, ppo.updateCount, trainer.globalStep, (metrics.meanEpisodeReturn ?? .nan) / Double(environmentOptions.batchesPerEpisode),
                                 metrics.approximateKL, metrics.entropy, "\(elapsed)"))
                }
                return true
            }
            let checkpoint = trainer.checkpoint
            if let out { try checkpoint.write(to: URL(fileURLWithPath: out)) }
            let verdict = try tuning.verdict(policy: .init(checkpoint: checkpoint), bootstrap: Bootstrap(seed: seed))
            let wall = (ContinuousClock.now - clock).components
            let seconds = Double(wall.seconds) + Double(wall.attoseconds) * 1e-18
            if json {
                try ReportJSON.print(VerdictJSON.object(verdict, wallSeconds: seconds, dataset: context.setup.dataset.manifest.id))
            } else {
                VerdictJSON.printTable(verdict, wallSeconds: seconds)
            }
        }
    }
}
