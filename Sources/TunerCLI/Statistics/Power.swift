import ArgumentParser
import Foundation
import Statistics

extension Tuner {
    struct Power: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Paired queries needed to detect a difference, or the smallest difference N pairs can detect.",
            discussion: """
                The spread of paired differences comes from --sd or is estimated from --differences FILE \
                (one difference per line: a metric of the same queries under two configurations). \
                With --delta: the pairs needed. With --pairs: the minimum detectable effect. \
                Two-sided z test (normal approximation, both tails counted).
                """)

        @Option(help: "The difference to detect, e.g. 0.03 in faithfulness.")
        var delta: Double?

        @Option(help: "Number of paired queries available.")
        var pairs: Int?

        @Option(help: "Standard deviation of the paired differences.")
        var sd: Double?

        @Option(help: "File of observed paired differences, one per line.")
        var differences: String?

        @Option(help: "Significance level.")
        var alpha = 0.05

        @Option(help: "Power.")
        var power = 0.8

        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard (delta == nil) != (pairs == nil) else { throw ValidationError("give exactly one of --delta and --pairs") }
            guard (sd == nil) != (differences == nil) else { throw ValidationError("give exactly one of --sd and --differences") }
            if let delta, delta == 0 { throw ValidationError("--delta must not be 0") }
            if let pairs, pairs < 2 { throw ValidationError("--pairs must be at least 2") }
            if let sd, !(sd > 0) { throw ValidationError("--sd must be positive") }
            guard alpha > 0 && alpha < 0.5 else { throw ValidationError("--alpha must lie in (0, 0.5)") }
            guard power > alpha && power < 1 else { throw ValidationError("--power must lie in (alpha, 1)") }
        }

        func run() throws {
            let sigma = try sd ?? Self.standardDeviation(of: differences!)
            var object: [String: Any] = ["sd": sigma, "alpha": alpha, "power": power]
            if let delta {
                let needed = PowerAnalysis.pairsNeeded(difference: delta, standardDeviation: sigma, alpha: alpha, power: power)
                object["delta"] = delta
                object["pairs_needed"] = Int(needed.rounded(.up))
                if !output.json {
                    print(String(format: "%d paired queries detect Δ = %g (σ_d = %.4g) with power %.0f%% at α = %g (two-sided)",
                                 Int(needed.rounded(.up)), delta, sigma, power * 100, alpha))
                }
            } else if let pairs {
                let effect = PowerAnalysis.minimumDetectableEffect(pairs: Double(pairs), standardDeviation: sigma, alpha: alpha, power: power)
                object["pairs"] = pairs
                object["minimum_detectable_effect"] = effect
                if !output.json {
                    print(String(format: "with %d paired queries (σ_d = %.4g) the minimum detectable effect is %.4g at power %.0f%%, α = %g",
                                 pairs, sigma, effect, power * 100, alpha))
                }
            }
            if output.json { print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)) }
        }

        /// Sample standard deviation of the numbers in `path`; a line that is not a number is an
        /// error naming the line.
        static func standardDeviation(of path: String) throws -> Double {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ValidationError("cannot read \(path)") }
            var values: [Double] = []
            for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed.isEmpty { continue }
                guard let value = Double(trimmed), value.isFinite else { throw ValidationError("\(path):\(i + 1): '\(trimmed)' is not a finite number") }
                values.append(value)
            }
            guard values.count >= 2 else { throw ValidationError("\(path): needs at least two differences, found \(values.count)") }
            let mean = values.reduce(0, +) / Double(values.count)
            return (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)).squareRoot()
        }
    }
}
