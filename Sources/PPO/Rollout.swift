import NumericCore

/// One rollout's transitions, row t·N + e for step t of environment e (CleanRL's `obs`,
/// `actions`, `logprobs`, `rewards`, `dones`, `values` buffers, flattened over environments).
struct Rollout {
    /// Observations as the policy saw them (normalised), B × O.
    var observations: Matrix
    /// Actions in the distribution's stored form, B × heads.
    var actions: Matrix
    /// Action masks (1 = allowed), B × mask width; nil when the environment masks nothing.
    var masks: Matrix?
    /// log π_old(a | s) of the sampled actions.
    var logProbs: [Float]
    /// V_old(s).
    var values: [Float]
    var rewards: [Float]
    /// 1 where the episode ended at this step (terminated or truncated).
    var dones: [Float]
    /// Undiscounted returns of the episodes that finished during the rollout.
    var finishedReturns: [Double] = []

    init(transitions b: Int, observationSize: Int, actionCount: Int, maskWidth: Int?) {
        observations = Matrix(rows: b, cols: observationSize)
        actions = Matrix(rows: b, cols: actionCount)
        masks = maskWidth.map { Matrix(rows: b, cols: $0) }
        logProbs = [Float](repeating: 0, count: b)
        values = [Float](repeating: 0, count: b)
        rewards = [Float](repeating: 0, count: b)
        dones = [Float](repeating: 0, count: b)
    }

    /// The rows `index` of the rollout with their advantages and returns, for one gradient step.
    func minibatch(_ index: [Int], advantages: [Float], returns: [Float]) -> Minibatch {
        Minibatch(
            observations: Self.gather(observations, index), actions: Self.gather(actions, index),
            masks: masks.map { Self.gather($0, index) },
            oldLogProbs: index.map { logProbs[$0] }, oldValues: index.map { values[$0] },
            advantages: index.map { advantages[$0] }, returns: index.map { returns[$0] })
    }

    static func gather(_ source: Matrix, _ index: [Int]) -> Matrix {
        let cols = source.cols
        var target = Matrix(rows: index.count, cols: cols)
        source.storage.withUnsafeBufferPointer { s in
            target.storage.withUnsafeMutableBufferPointer { t in
                for (k, i) in index.enumerated() {
                    (t.baseAddress! + k * cols).update(from: s.baseAddress! + i * cols, count: cols)
                }
            }
        }
        return target
    }
}

/// M rows of a rollout, gathered for one gradient step.
struct Minibatch {
    var observations: Matrix
    var actions: Matrix
    var masks: Matrix?
    var oldLogProbs: [Float]
    var oldValues: [Float]
    var advantages: [Float]
    var returns: [Float]
    var rows: Int { oldLogProbs.count }
}
