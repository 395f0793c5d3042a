import ArgumentParser
import Foundation
import Pipeline
import TunerPolicy
import Tuning

extension Tuner.Bench {
    struct BenchDecide: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "decide",
            abstract: "Per-call latency of the policy module's decide (single thread), p50 and p99 in microseconds.")

        @Option(help: "Policy checkpoint to time (default: the default network, PPO-initialised).")
        var checkpoint: String?

        @Option(help: "Timed calls per mode.")
        var calls = 200_000

        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard calls >= 1000 else { throw ValidationError("--calls must be at least 1000") }
        }

        func run() throws {
            let policy = try checkpoint.map { try RAGPolicy(contentsOf: URL(fileURLWithPath: $0)) } ?? DecisionBenchmark.defaultPolicy()
            let deterministic = DecisionBenchmark.run(policy, sampled: false, calls: calls)
            let sampled = DecisionBenchmark.run(policy, sampled: true, calls: calls)
            if output.json {
                let object: [String: Any] = [
                    "checkpoint": checkpoint ?? "default", "policy_version": policy.version, "features": policy.featureCount,
                    "calls": calls, "p50_us": deterministic.p50Microseconds, "p99_us": deterministic.p99Microseconds,
                    "mean_us": deterministic.meanMicroseconds, "sampled_p50_us": sampled.p50Microseconds,
                    "sampled_p99_us": sampled.p99Microseconds, "sampled_mean_us": sampled.meanMicroseconds,
                ]
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
                return
            }
            print("policy \(policy.version) (\(checkpoint ?? "default network")), \(policy.featureCount) features, \(calls) calls per mode, one thread")
            print("mode             p50 µs   p99 µs  mean µs")
            for r in [deterministic, sampled] {
                print(r.mode.padding(toLength: 14, withPad: " ", startingAt: 0)
                      + String(format: " %8.3f %8.3f %8.3f", r.p50Microseconds, r.p99Microseconds, r.meanMicroseconds))
            }
        }
    }
}
