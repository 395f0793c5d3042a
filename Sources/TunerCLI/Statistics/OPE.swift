import ArgumentParser
import Foundation
import NumericCore
import Pipeline
import Statistics
import TunerPolicy
import Tuning

extension Tuner {
    struct OPE: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ope",
            abstract: "Estimate a policy's value from logged decisions: IPS, SNIPS, DM, DR, switch-DR with bootstrap intervals.")

        @Option(help: "Decision log (docs/decision-log.md): decision and outcome lines joined by request id.")
        var log: String

        @OptionGroup var policy: PolicyFileOptions

        @Option(help: "Share of malformed log lines tolerated (counted and reported) before the log is refused.")
        var maxBadLines = 0.01

        @Option(help: "Policy checkpoint to evaluate.")
        var checkpoint: String

        @Option(help: "Importance weight above which switch-DR uses the reward model.")
        var switchThreshold = 10.0

        @Option(help: "Bootstrap resamples.")
        var resamples = 10_000

        @Option(help: "Confidence level of the intervals.")
        var level = 0.95

        @Option(help: "Seed of the bootstrap and of the policy's sampled actions.")
        var seed: UInt64 = 1

        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard resamples >= 100 else { throw ValidationError("--resamples must be at least 100") }
            guard level > 0 && level < 1 else { throw ValidationError("--level must lie in (0, 1)") }
            guard switchThreshold > 0 else { throw ValidationError("--switch-threshold must be positive") }
            guard (0...1).contains(maxBadLines) else { throw ValidationError("--max-bad-lines must lie in [0, 1]") }
        }

        func run() throws {
            BLAS.setThreads(1)
            let weights = try policy.load().reward
            let decisionLog = try DecisionLog.read(URL(fileURLWithPath: log), weights: weights, maxBadLineFraction: maxBadLines)
            let records = decisionLog.records
            let stored = try PolicyCheckpoint.read(from: URL(fileURLWithPath: checkpoint))
            let target = Policy(checkpoint: stored)
            // Categories the checkpoint serves fixed settings are judged as it serves them.
            let served = try stored.sharedSettings.map { _ in try RAGPolicy(contentsOf: URL(fileURLWithPath: checkpoint)) }
            var options = LoggedPolicyEvaluation.Options()
            options.switchThreshold = switchThreshold
            options.bootstrap = Bootstrap(resamples: resamples, level: level, seed: seed)
            options.seed = seed
            let estimates = try LoggedPolicyEvaluation.evaluate(records, policy: target, fixedAction: { context in
                guard let served, context.count == served.featureCount else { return nil }
                return context.withUnsafeBufferPointer { served.fixedAction(features: $0) }
            }, options: options)
            if output.json {
                let object: [String: Any] = [
                    "rows": records.count,
                    "decisions": decisionLog.decisionCount,
                    "without_reward": decisionLog.withoutReward,
                    "malformed_lines": decisionLog.badLines.count,
                    "estimates": estimates.map { e -> [String: Any] in
                        var row: [String: Any] = [
                            "estimator": e.estimator.rawValue, "value": e.value, "lower": e.interval.lower, "upper": e.interval.upper,
                            "standard_error": e.interval.standardError, "level": e.interval.level,
                            "effective_sample_size": e.effectiveSampleSize,
                        ]
                        if let warning = e.warning { row["warning"] = warning }
                        return row
                    },
                ]
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
                return
            }
            print(decisionLog.summary)
            print("\(records.count) logged decisions; \(Int(level * 100))% bootstrap intervals, \(resamples) resamples")
            print("estimator       value     lower     upper   std err   ESS")
            for e in estimates {
                print(e.estimator.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0) + String(
                    format: " %9.4f %9.4f %9.4f %9.4f %6.0f", e.value, e.interval.lower, e.interval.upper,
                    e.interval.standardError, e.effectiveSampleSize))
            }
            for e in estimates { if let warning = e.warning { print("warning (\(e.estimator.rawValue)): \(warning)") } }
        }
    }
}
