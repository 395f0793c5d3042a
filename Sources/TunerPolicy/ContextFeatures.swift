import Foundation

/// How a ``PolicyContext`` becomes the observation the policy was trained on. It travels in the
/// checkpoint, so a service builds exactly the features the tuning environment built:
///
/// | features | value |
/// | --- | --- |
/// | one per category | 1 for the question's category (all 0 for a category the policy never saw) |
/// | 5 | faithfulness, relevancy, p50/T, p95/T, cost/C (T the latency target, C the cost reference); with ``robust`` scaling, each as (x − median)/σ̂, σ̂ = IQR/1.349 |
/// | one per variant | the variant in force, one-hot |
/// | 4 | (k − k_min)/(k_max − k_min), rerank 0/1, fusion weight, log10(corpus documents)/6 |
/// | 1, with ``corpusAge`` | log(1 + corpus age in days)/log(1 + ``ageRangeDays``); an unknown age is 0.5, the middle of what training draws |
/// | one per template | the template in force, one-hot |
///
/// Each feature is clipped to ±3 (with robust scaling: ±3σ̂); the checkpoint's running
/// normaliser then standardises them. Checkpoints from before robust scaling and the corpus's
/// age have neither (both nil) and build the features they were trained on.
public struct ContextFeatures: Sendable, Hashable, Codable {
    public var categories: [String]
    public var latencyScaleMilliseconds: Double
    public var costScaleUSD: Double
    /// The median and robust spread of the five service metrics over what training saw.
    public var robust: RobustScaling?
    /// Whether the corpus's age is a feature.
    public var corpusAge: Bool?

    public struct RobustScaling: Sendable, Hashable, Codable {
        public var median: [Double]
        /// IQR/1.349 (σ for a normal distribution), floored so a metric that never varied in
        /// training cannot blow up a small difference.
        public var spread: [Double]

        public static let minimumSpread = 0.01

        /// From samples of the five metrics (each row F, R, p50/T, p95/T, cost/C); nil without samples.
        public init?(samples: [[Double]]) {
            guard !samples.isEmpty, samples.allSatisfy({ $0.count == 5 && $0.allSatisfy(\.isFinite) }) else { return nil }
            func quantile(_ sorted: [Double], _ q: Double) -> Double {
                let position = q * Double(sorted.count - 1)
                let low = Int(position.rounded(.down)), high = Int(position.rounded(.up))
                return sorted[low] + (sorted[high] - sorted[low]) * (position - Double(low))
            }
            let columns = (0..<5).map { i in samples.map { $0[i] }.sorted() }
            median = columns.map { quantile($0, 0.5) }
            spread = columns.map { max((quantile($0, 0.75) - quantile($0, 0.25)) / 1.349, Self.minimumSpread) }
        }
    }

    /// The ages, in days, training draws a corpus's age from (log-uniformly).
    public static let ageRangeDays = 1825.0

    public init(categories: [String], latencyScaleMilliseconds: Double, costScaleUSD: Double, robust: RobustScaling? = nil, corpusAge: Bool? = nil) {
        self.categories = categories
        self.latencyScaleMilliseconds = latencyScaleMilliseconds
        self.costScaleUSD = costScaleUSD
        self.robust = robust
        self.corpusAge = corpusAge
    }

    public func count(for layout: RAGActionLayout) -> Int {
        categories.count + 5 + layout.variants.count + 4 + (corpusAge == true ? 1 : 0) + layout.templates.count
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
        let metrics = (context.faithfulness, context.relevancy, context.latencyP50Milliseconds / latencyScaleMilliseconds,
                       context.latencyP95Milliseconds / latencyScaleMilliseconds, context.costUSD / costScaleUSD)
        if let robust {
            put((metrics.0 - robust.median[0]) / robust.spread[0])
            put((metrics.1 - robust.median[1]) / robust.spread[1])
            put((metrics.2 - robust.median[2]) / robust.spread[2])
            put((metrics.3 - robust.median[3]) / robust.spread[3])
            put((metrics.4 - robust.median[4]) / robust.spread[4])
        } else {
            put(metrics.0)
            put(metrics.1)
            put(metrics.2)
            put(metrics.3)
            put(metrics.4)
        }
        for variant in layout.variants { put(variant == context.current.variant ? 1 : 0) }
        put(Double(context.current.k - k.lowerBound) / Double(k.upperBound - k.lowerBound))
        put(context.current.rerank ? 1 : 0)
        put(context.current.fusionWeight)
        put(log10(Double(max(context.corpusDocuments, 1))) / 6)
        if corpusAge == true {
            put(context.corpusAgeDays.map { log1p(max($0, 0)) / log1p(Self.ageRangeDays) } ?? 0.5)
        }
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
