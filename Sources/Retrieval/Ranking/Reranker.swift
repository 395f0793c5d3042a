import Foundation
import NumericCore

/// A learned re-ranker: a small MLP (9 features → 32 tanh → 1) that scores a query's candidates,
/// trained on a train split's qrels with RankNet's pairwise logistic loss
///
///   L = Σ_{(i, j): grade_i > grade_j} log(1 + exp(−(s_i − s_j))) / #pairs
///
/// over each query's candidate pool, with Adam. Features are standardised with the training
/// mean and standard deviation.
public final class Reranker: @unchecked Sendable {
    public static let featureNames = [
        "bm25_minmax", "dense_minmax", "dense_cosine", "log1p_bm25",
        "query_term_coverage", "title_idf_coverage", "log_passage_length", "bm25_reciprocal_rank", "dense_reciprocal_rank",
    ]
    public static var featureCount: Int { featureNames.count }

    public struct TrainingOptions: Sendable {
        public var epochs = 60
        public var queriesPerStep = 16
        public var learningRate: Float = 3e-3
        public var hiddenWidth = 32
        public var seed: UInt64 = 7
        public init() {}
    }

    /// One training query: its pool and the grade of each pool document (0 = not relevant).
    public struct Example: Sendable {
        public var pool: CandidatePool
        public var grades: [Float]
        public init(pool: CandidatePool, grades: [Float]) {
            self.pool = pool
            self.grades = grades
        }
    }

    private let network: MLP
    /// The network keeps its activations in a workspace, so concurrent scoring takes turns.
    private let lock = NSLock()
    public private(set) var featureMean: [Float]
    public private(set) var featureScale: [Float]
    /// Mean pairwise loss of the last training epoch.
    public private(set) var finalLoss: Double = .nan

    private init(network: MLP, mean: [Float], scale: [Float]) {
        self.network = network
        self.featureMean = mean
        self.featureScale = scale
    }

    /// Feature rows (pool.count × featureCount), unstandardised.
    public static func features(_ pool: CandidatePool, documentLengths: [Int32]) -> Matrix {
        var x = Matrix(rows: pool.count, cols: featureCount)
        for i in 0..<pool.count {
            let row = [
                pool.lexicalNormalized[i], pool.denseNormalized[i], pool.dense[i], log(1 + pool.lexical[i]),
                pool.coverage[i], pool.titleCoverage[i], log(1 + Float(documentLengths[Int(pool.documents[i])])),
                reciprocal(pool.lexicalRank[i]), reciprocal(pool.denseRank[i]),
            ]
            for (c, v) in row.enumerated() { x[i, c] = v }
        }
        return x
    }

    private static func reciprocal(_ rank: Int32) -> Float {
        rank == CandidatePool.unranked ? 0 : 1 / (Float(rank) + 1)
    }

    /// Scores of every pool document; higher is better.
    public func scores(_ pool: CandidatePool, documentLengths: [Int32]) -> [Float] {
        guard pool.count > 0 else { return [] }
        let x = standardized(Self.features(pool, documentLengths: documentLengths))
        lock.lock()
        defer { lock.unlock() }
        let out = x.withView { network.forward($0) }
        return (0..<pool.count).map { out[$0, 0] }
    }

    private func standardized(_ x: Matrix) -> Matrix {
        var result = x
        for r in 0..<x.rows {
            for c in 0..<x.cols { result[r, c] = (x[r, c] - featureMean[c]) / featureScale[c] }
        }
        return result
    }

    /// Trains a re-ranker on `examples`. Queries without a graded pair contribute nothing.
    public static func train(_ examples: [Example], documentLengths: [Int32], options: TrainingOptions = TrainingOptions()) throws -> Reranker {
        let featureRows = examples.map { features($0.pool, documentLengths: documentLengths) }
        var mean = [Float](repeating: 0, count: featureCount)
        var scale = [Float](repeating: 1, count: featureCount)
        let total = featureRows.reduce(0) { $0 + $1.rows }
        if total > 1 {
            var sum = [Double](repeating: 0, count: featureCount)
            var squares = [Double](repeating: 0, count: featureCount)
            for x in featureRows {
                for r in 0..<x.rows { for c in 0..<featureCount { let v = Double(x[r, c]); sum[c] += v; squares[c] += v * v } }
            }
            for c in 0..<featureCount {
                let m = sum[c] / Double(total)
                mean[c] = Float(m)
                scale[c] = Float(max((squares[c] / Double(total) - m * m).squareRoot(), 1e-6))
            }
        }
        let network = MLP(spec: MLPSpec(sizes: [featureCount, options.hiddenWidth, 1]))
        var rng = RandomGenerator(seed: options.seed)
        try network.initialize(hiddenGain: Float(2).squareRoot(), outputGain: 1, using: &rng)
        let reranker = Reranker(network: network, mean: mean, scale: scale)
        let inputs = featureRows.map { reranker.standardized($0) }
        let trainable = examples.indices.filter { i in
            let g = examples[i].grades
            return g.contains { $0 > 0 } && g.contains { $0 < g.max()! }
        }
        guard !trainable.isEmpty else { return reranker }

        var adam = AdamOptimizer(parameterCount: network.arena.count, epsilon: 1e-8)
        for _ in 0..<options.epochs {
            var order = trainable
            rng.shuffle(&order)
            var epochLoss = 0.0
            for start in stride(from: 0, to: order.count, by: options.queriesPerStep) {
                network.arena.zeroGradients()
                let step = order[start..<min(start + options.queriesPerStep, order.count)]
                for q in step {
                    epochLoss += reranker.accumulatePairwiseGradient(inputs[q], grades: examples[q].grades, weight: 1 / Float(step.count))
                }
                // Also refuses a NaN/Inf gradient, naming the tensor.
                _ = try GradientClipping.clipGlobalNorm(network.arena, maxNorm: 5)
                adam.update(network.arena, learningRate: options.learningRate)
            }
            reranker.finalLoss = epochLoss / Double(order.count)
        }
        return reranker
    }

    /// Adds weight · ∂L_q/∂θ for one query to the arena's gradients and returns L_q.
    private func accumulatePairwiseGradient(_ x: Matrix, grades: [Float], weight: Float) -> Double {
        let out = x.withView { network.forward($0) }
        let s = (0..<x.rows).map { out[$0, 0] }
        var gradient = Matrix(rows: x.rows, cols: 1)
        var loss = 0.0
        var pairs = 0
        for i in 0..<x.rows where grades[i] > 0 {
            for j in 0..<x.rows where grades[j] < grades[i] {
                let margin = s[i] - s[j]
                // d/dmargin log(1 + e^(−margin)) = −σ(−margin)
                let sigma = 1 / (1 + exp(margin))
                gradient[i, 0] -= sigma
                gradient[j, 0] += sigma
                loss += Double(margin > 0 ? log1p(exp(-margin)) : -margin + log1p(exp(margin)))
                pairs += 1
            }
        }
        guard pairs > 0 else { return 0 }
        let scale = weight / Float(pairs)
        for i in 0..<x.rows { gradient[i, 0] *= scale }
        gradient.withView { network.backward(outputGradient: $0) }
        return loss / Double(pairs)
    }
}
