import ArgumentParser
import Foundation
import PPO

extension BenchmarkTask: ExpressibleByArgument {}
extension Preset: ExpressibleByArgument {}

extension Tuner.Bench {
    struct BenchPPO: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ppo",
            abstract: "Train PPO on a control task for several seeds; report final return and speed.")

        @Option(help: "Task: \(BenchmarkTask.allCases.map(\.rawValue).joined(separator: ", ")).")
        var env: BenchmarkTask = .cartpole

        @Option(help: "Number of seeds (1...N).")
        var seeds = 5

        @Option(help: "Environment steps per seed (default: 100,000; 200,000 for mixed).")
        var steps: Int?

        @Option(help: "Hyperparameters: default or rl-zoo.")
        var preset: Preset = .default

        @Option(help: "Evaluation episodes with the deterministic policy.")
        var evalEpisodes = 20

        @Option(name: .customLong("set"), help: "Override a hyperparameter: --set epochs=20 (repeatable).")
        var overrides: [String] = []

        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard seeds >= 1 else { throw ValidationError("--seeds must be at least 1") }
            if let steps, steps < 1 { throw ValidationError("--steps must be positive") }
            guard evalEpisodes >= 1 else { throw ValidationError("--eval-episodes must be at least 1") }
        }

        func run() throws {
            var configuration = try PPOConfiguration.preset(preset, task: env).applying(overrides: overrides)
            configuration.totalSteps = steps ?? (env == .mixed ? 200_000 : 100_000)
            var results: [SeedResult] = []
            for seed in 1...seeds {
                configuration.seed = UInt64(seed)
                let result = try PPOBenchmark.run(task: env, configuration: configuration, evaluationEpisodes: evalEpisodes)
                results.append(result)
                if !output.json {
                    print(String(format: "seed %d  final return %9.2f  %9.0f steps/s  %6.2f s", seed, result.finalReturn, result.stepsPerSecond, result.wallSeconds))
                }
            }
            let report = Report(env: env.rawValue, preset: preset.rawValue, steps: configuration.totalSteps, seeds: results)
            if output.json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                encoder.keyEncodingStrategy = .convertToSnakeCase
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            } else {
                let returns = results.map(\.finalReturn).sorted()
                print(String(format: "median final return %.2f over %d seeds; median %.0f steps/s", returns[returns.count / 2], results.count,
                             results.map(\.stepsPerSecond).sorted()[results.count / 2]))
            }
        }

        struct Report: Encodable {
            var env: String
            var preset: String
            var steps: Int
            var seeds: [SeedResult]
        }
    }
}
