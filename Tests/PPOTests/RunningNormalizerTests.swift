import Testing
import NumericCore
import TunerPolicy

@Suite struct RunningNormalizerTests {
    @Test func batchAndScalarUpdatesGiveThePopulationMomentsOfEverythingSeen() {
        let values: [Double] = [3, -1, 4, 1, -5, 9, 2, 6]
        var byBatch = RunningNormalizer(size: 1)
        Matrix(rows: 3, cols: 1, storage: values.prefix(3).map(Float.init)).withView { byBatch.update($0) }
        Matrix(rows: 5, cols: 1, storage: values.suffix(5).map(Float.init)).withView { byBatch.update($0) }
        var byScalar = RunningNormalizer(size: 1)
        for v in values { byScalar.update(scalar: v) }
        // The initial pseudo-count of 1e-4 at mean 0, variance 1 shifts the moments by ~1e-5.
        let mean = values.reduce(0, +) / 8
        let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 8
        for n in [byBatch, byScalar] {
            #expect(abs(n.mean[0] - mean) < 1e-4)
            #expect(abs(n.variance[0] - variance) < 1e-3)
        }
        #expect(abs(byBatch.mean[0] - byScalar.mean[0]) < 1e-12 && abs(byBatch.variance[0] - byScalar.variance[0]) < 1e-9)
        var out = Matrix(rows: 1, cols: 1)
        Matrix(rows: 1, cols: 1, storage: [1000]).withView { x in out.withMutableView { byBatch.normalize(x, into: $0) } }
        #expect(out[0, 0] == 10)  // clipped to ±10
    }
}
