import Foundation
import MallocInterposerSwift
import Pipeline
import TunerPolicy
import Tuning

// Allocations per `RAGPolicy.decide` call after warm-up, counted by the malloc interposer, and
// the per-call latency beside them. Run:
//   RAGTUNER_BENCHMARKS=1 swift run -c release PolicyDecisionBenchmarks [checkpoint]
// The executable links libMallocInterposerSwift.so, whose malloc then precedes libc's in symbol
// lookup; LD_PRELOAD of the same library does the same for a binary that does not link it. A
// probe checks that counting works before any zero is reported.

let policy = try CommandLine.arguments.dropFirst().first.map { try RAGPolicy(contentsOf: URL(fileURLWithPath: $0)) }
    ?? DecisionBenchmark.defaultPolicy()
let contexts = DecisionBenchmark.contexts(for: policy, count: 1024)
let calls = 100_000

/// Mallocs counted while `body` runs.
func mallocs(_ body: () -> Void) -> Int {
    MallocInterposerSwift.initialize()
    MallocInterposerSwift.hook()
    body()
    MallocInterposerSwift.unhook()
    return MallocInterposerSwift.getStatistics().mallocCount
}

// The counter must see allocations, or a zero below would mean nothing.
var keep: [[Float]] = []
let probe = mallocs { for i in 0..<1000 { keep.append([Float](repeating: Float(i), count: 64)) } }
guard probe >= 1000 else {
    print("the interposer counted \(probe) mallocs for 1000 array allocations: run again with LD_PRELOAD=.build/release/libMallocInterposerSwift.so")
    exit(1)
}

var sink = 0
for mode in [RAGPolicy.Mode.deterministic, .sampled(seed: 0)] {
    let name = mode == .deterministic ? "deterministic" : "sampled"
    func call(_ i: Int) {
        let d = policy.decide(contexts[i & 1023], mode: mode == .deterministic ? .deterministic : .sampled(seed: UInt64(i)))
        sink &+= d.settings.k
    }
    for i in 0..<10_000 { call(i) }  // warm-up
    let count = mallocs { for i in 0..<calls { call(i) } }
    let latency = DecisionBenchmark.run(policy, sampled: mode != .deterministic, calls: calls)
    print(String(format: "%@: %d mallocs in %d calls (%.4f per call); p50 %.3f µs, p99 %.3f µs",
                 name, count, calls, Double(count) / Double(calls), latency.p50Microseconds, latency.p99Microseconds))
}
print("probe: \(probe) mallocs for 1000 arrays; policy \(policy.version); checksum \(sink)")
