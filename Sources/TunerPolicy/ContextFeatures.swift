import Foundation

/// How a ``PolicyContext`` becomes the observation the policy was trained on. It travels in the
/// checkpoint, so a service builds exactly the features the tuning environment built:
///
/// | features | value |
/// | --- | --- |
/// | one per category | 1 for the question's category (all 0 for a category the policy never saw) |
/// | 5 | faithfulness, relevancy, p50/T, p95/T, cost/C (T the latency target, C the cost reference) |
/// | one per variant | the variant in force, one-hot |
/// | 4 | (k − k_min)/(k_max − k_min), rerank 0/1, fusion weight, log10(corpus documents)/6 |
/// | one per template | the template in force, one-hot |
///
/// Each feature is clipped to ±3; the checkpoint's running normaliser then standardises them.
public struct ContextFeatures: Sendable, Hashable, Codable {
    public var categories: [String]
    public var latencyScaleMilliseconds: Double
    public var costScaleUSD: Double

    public init(categories: [String], latencyScaleMilliseconds: Double, costScaleUSD: Double) {
        self.categories = categories
        self.latencyScaleMilliseconds = latencyScaleMilliseconds
        self.costScaleUSD = costScaleUSD
    }

    public func count(for layout: RAGActionLayout) -> Int {
        categories.count + 5 + layout.variants.count + 4 + layout.templates.count
    }

    /// Writes the features of `context` into `x` (``count(for:)`` values). No allocation.
    public func encode(_ context: PolicyContext, layout: RAGActionLayout, into x: UnsafeMutableBufferPointer<Float>) {
        precondition(x.count == count(for: layout), "features: room for \(x.count), need \(count(for: layout))")
        let k = layout.kRange
        var i = 0
        func put(_ value: Double) {
            x[i] = Float(min(max(value, -3), 3))
            i += 1
        }
        for category in categories { put(category == context.category ? 1 : 0) }
        put(context.faithfulness)
        put(context.relevancy)
        put(context.latencyP50Milliseconds / latencyScaleMilliseconds)
        put(context.latencyP95Milliseconds / latencyScaleMilliseconds)
        put(context.costUSD / costScaleUSD)
        for variant in layout.variants { put(variant == context.current.variant ? 1 : 0) }
        put(Double(context.current.k - k.lowerBound) / Double(k.upperBound - k.lowerBound))
        put(context.current.rerank ? 1 : 0)
        put(context.current.fusionWeight)
        put(log10(Double(max(context.corpusDocuments, 1))) / 6)
        for template in layout.templates { put(template == context.current.template ? 1 : 0) }
    }

    /// The features of `context` as an array (for logging and for the trainer).
    public func features(_ context: PolicyContext, layout: RAGActionLayout) -> [Float] {
        [Float](unsafeUninitializedCapacity: count(for: layout)) { buffer, initialized in
            encode(context, layout: layout, into: buffer)
            initialized = buffer.count
        }
    }
}
