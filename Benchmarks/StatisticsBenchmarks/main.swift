// Statistics benchmark (issue: statistics). Run on demand, release build:
//   RAGTUNER_BENCHMARKS=1 swift run -c release StatisticsBenchmarks
// Median time of a 10,000-resample bootstrap (BCa and percentile) of n = 500 paired values on
// one core, and of computing group-sequential boundaries.
import BenchmarkSupport
import Foundation
import NumericCore
import Statistics

var rng = RandomGenerator(seed: 3)
let control = (0..<500).map { _ in rng.uniform() }
let treatment = control.map { $0 + 0.03 + 0.1 * rng.normal() }
let bootstrap = Bootstrap(resamples: 10_000, seed: 1)
var sink = 0.0
for method in Bootstrap.Method.allCases {
    let seconds = measure(repeats: 15, iterations: 1) { sink += bootstrap.pairedDifference(treatment, control, method: method).lower }
    print(String(format: "bootstrap %@, 10,000 resamples of n = 500 pairs: %.2f ms (median of 15; target ≤ 20 ms)", method.rawValue, seconds * 1e3))
}
for looks in [4, 20] {
    let seconds = measure(repeats: 5, iterations: 1) {
        sink += GroupSequentialDesign.spending(.obrienFleming, alpha: 0.025, informationFractions: GroupSequentialDesign.equallySpaced(looks)).boundaries[0]
    }
    print(String(format: "group-sequential boundaries, %d looks: %.1f ms (median of 5)", looks, seconds * 1e3))
}
print("(checksum \(sink))")
