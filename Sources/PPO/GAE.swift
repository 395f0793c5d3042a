/// Generalised advantage estimation (Schulman et al., 2016) over a rollout of T steps × N
/// environments stored row-major (index t·N + e).
///
/// `dones[t·N + e]` is 1 when the episode of environment e ended at step t (terminated or
/// truncated), so step t + 1 starts a new one. A truncated step's reward already includes
/// γ·V(final state) (added by the collector, as Stable-Baselines3 does), so truncation is not
/// treated as termination:
///
///     δ_t = r_t + γ·(1 − done_t)·V_{t+1} − V_t
///     A_t = δ_t + γλ·(1 − done_t)·A_{t+1}
///     R_t = A_t + V_t
///
/// with V_T the value of the state after the rollout (`lastValues`).
public enum GAE {
    public static func compute(
        rewards: [Float], values: [Float], dones: [Float], lastValues: [Float],
        environmentCount n: Int, gamma: Double, lambda: Double
    ) -> (advantages: [Float], returns: [Float]) {
        precondition(rewards.count == values.count && values.count == dones.count && rewards.count % n == 0 && lastValues.count == n,
                     "GAE: arrays of \(rewards.count), \(values.count), \(dones.count) with \(lastValues.count) last values for \(n) environments")
        let steps = rewards.count / n
        var advantages = [Float](repeating: 0, count: rewards.count)
        var running = [Double](repeating: 0, count: n)
        for t in stride(from: steps - 1, through: 0, by: -1) {
            for e in 0..<n {
                let i = t * n + e
                let nextValue = t == steps - 1 ? Double(lastValues[e]) : Double(values[i + n])
                let notDone = 1 - Double(dones[i])
                let delta = Double(rewards[i]) + gamma * nextValue * notDone - Double(values[i])
                running[e] = delta + gamma * lambda * notDone * running[e]
                advantages[i] = Float(running[e])
            }
        }
        let returns = zip(advantages, values).map { $0 + $1 }
        return (advantages, returns)
    }
}
