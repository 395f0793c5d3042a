import Pipeline
import Scoring
import Tuning

/// One of the specification's ablations of a training run: the reward's latency (γ) or cost (δ)
/// weight set to another value, one action head frozen at its default, or k learnt with the other
/// formulation (a softmax over every k against a log-normal over log k). Each is a training run
/// like any other, judged by its own verdict.
public struct Ablation: Sendable, Equatable {
    public enum Group: String, Sendable, Codable {
        case baseline
        case rewardWeights = "reward_weights"
        case frozenHead = "frozen_head"
        case formulation
    }

    public enum Change: Sendable, Equatable {
        case none
        case gamma(Double)
        case delta(Double)
        case frozen(String)
        case kDistribution(PolicyConfiguration.TopKDistribution)
    }

    public var change: Change

    /// The experiment of a dataset's ablation runs: `ablate:<dataset id>`.
    public static let experimentPrefix = "ablate:"

    public var group: Group {
        switch change {
        case .none: .baseline
        case .gamma, .delta: .rewardWeights
        case .frozen: .frozenHead
        case .kDistribution: .formulation
        }
    }

    public var name: String {
        switch change {
        case .none: "baseline"
        case let .gamma(v): "gamma=\(v)"
        case let .delta(v): "delta=\(v)"
        case let .frozen(head): "frozen:\(head)"
        case let .kDistribution(d): "k:\(d.rawValue)"
        }
    }

    /// The baseline, γ and δ each over `gammas` and `deltas` (the others at the configuration's
    /// values; a value equal to the baseline's is the baseline), every head frozen in turn, and k
    /// with the formulation the configuration does not use.
    public static func plan(gammas: [Double], deltas: [Double], policy: PolicyConfiguration) -> [Ablation] {
        var plan = [Ablation(change: .none)]
        plan += gammas.filter { $0 != policy.reward.gamma }.map { Ablation(change: .gamma($0)) }
        plan += deltas.filter { $0 != policy.reward.delta }.map { Ablation(change: .delta($0)) }
        plan += RAGTuningEnvironment.heads.map { Ablation(change: .frozen($0)) }
        let other = PolicyConfiguration.TopKDistribution.allCases.first { $0 != policy.actions.topKDistribution }!
        plan.append(Ablation(change: .kDistribution(other)))
        return plan
    }

    /// The setup and settings of this ablation's run.
    public func applied(to setup: EvaluationSetup, _ settings: TrainingSettings) -> (EvaluationSetup, TrainingSettings) {
        var setup = setup
        var settings = settings
        switch change {
        case .none: break
        case let .gamma(v): setup.policy.reward.gamma = v
        case let .delta(v): setup.policy.reward.delta = v
        case let .frozen(head): settings.environment.frozenHeads = [head]
        case let .kDistribution(d): setup.policy.actions.topKDistribution = d
        }
        return (setup, settings)
    }
}
