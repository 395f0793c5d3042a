import Testing
@testable import NumericCore

@Suite struct AlignedStorageTests {
    /// The kernels' vector loads straddle cache lines on 16-byte aligned buffers (about 7% of a
    /// batch-2048 step): parameters, gradients and every activation must start on a 64-byte line.
    @Test func parametersAndActivationsStartOnCacheLines() throws {
        var rng = RandomGenerator(seed: 4)
        for batch in [1, 7, 64] {
            let mlp = MLP(spec: MLPSpec(sizes: [5, 16, 3]))
            try mlp.initialize(hiddenGain: 1, outputGain: 1, using: &rng)
            let output = Matrix(rows: batch, cols: 5).withView { mlp.forward($0) }
            for address in [Int(bitPattern: mlp.arena.values.baseAddress!), Int(bitPattern: mlp.arena.gradients.baseAddress!),
                            Int(bitPattern: output.base)] {
                #expect(address % 64 == 0, "address \(address) at batch \(batch)")
            }
        }
    }
}
