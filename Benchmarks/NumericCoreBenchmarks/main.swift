// Numeric-core benchmarks (issue: foundation). Run on demand, release build:
//   RAGTUNER_BENCHMARKS=1 swift run -c release NumericCoreBenchmarks [--threads N]
// Prints medians over repeats: sgemm GFLOP/s at n = 64, 256, 1024, and samples/s of a
// 16-64-64-8 tanh MLP forward + MSE gradient + backward + Adam step at batch 64 and 2048.
import BenchmarkSupport
import Foundation
import NumericCore

let arguments = CommandLine.arguments
let threads = arguments.firstIndex(of: "--threads").map { Int(arguments[$0 + 1])! } ?? 1
BLAS.setThreads(threads)
print("BLAS: \(BLAS.configuration), threads=\(BLAS.threads)")

var rng = RandomGenerator(seed: 7)
for n in [64, 256, 1024] {
    var a = Matrix(rows: n, cols: n)
    var b = Matrix(rows: n, cols: n)
    for i in 0..<(n * n) {
        a.storage[i] = Float(rng.normal())
        b.storage[i] = Float(rng.normal())
    }
    var c = Matrix(rows: n, cols: n)
    let flops = 2.0 * Double(n * n * n)
    let iterations = max(3, Int(2e9 / flops))
    let seconds = a.withView { av in
        b.withView { bv in
            c.withMutableView { cv in
                measure(repeats: 9, iterations: iterations) { BLAS.gemm(av, bv, into: cv) }
            }
        }
    }
    print(String(format: "sgemm n=%-5d %8.1f GFLOP/s  (median of 9 × %d calls)", n, flops / seconds / 1e9, iterations))
}

let spec = MLPSpec(sizes: [16, 64, 64, 8], hiddenActivation: .tanh)
for batch in [64, 2048] {
    let mlp = MLP(spec: spec)
    try mlp.initialize(hiddenGain: Float(2).squareRoot(), outputGain: 1, using: &rng)
    var adam = AdamOptimizer(parameterCount: mlp.arena.count, epsilon: 1e-5)
    var input = Matrix(rows: batch, cols: 16)
    var target = Matrix(rows: batch, cols: 8)
    for i in input.storage.indices { input.storage[i] = Float(rng.normal()) }
    for i in target.storage.indices { target.storage[i] = Float(rng.normal()) }
    var gradient = Matrix(rows: batch, cols: 8)
    let scale = 2 / Float(batch * 8)
    let iterations = max(20, 2_000_000 / batch)
    let seconds = input.withView { x in
        target.withView { t in
            gradient.withMutableView { g in
                measure(repeats: 9, iterations: iterations) {
                    mlp.arena.zeroGradients()
                    let y = mlp.forward(x)
                    for i in 0..<(batch * 8) { g.base[i] = scale * (y.base[i] - t.base[i]) }
                    mlp.backward(outputGradient: g.readOnly)
                    adam.update(mlp.arena, learningRate: 3e-4)
                }
            }
        }
    }
    print(String(format: "MLP 16-64-64-8 tanh fwd+bwd+Adam batch=%-5d %12.0f samples/s  (%.1f µs/step, median of 9 × %d)",
                 batch, Double(batch) / seconds, seconds * 1e6, iterations))
}
