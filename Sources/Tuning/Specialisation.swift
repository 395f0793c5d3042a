import Pipeline
import Scoring
import Statistics
import TunerPolicy

/// Which categories get a configuration of their own. Choosing per category on a few hundred
/// questions over-fits — near-ties and gates near their threshold decide the choice — so a
/// category is specialised only with evidence, and every other category is served the shared
/// configuration (the best static configuration of the train split):
///
/// - cross-fitting: the category's train questions fall into five folds; its configuration is
///   chosen (``ConfigurationGrid/choose(_:)``) on four and judged on the fifth against the shared
///   one, per query; over the five folds the paired gain's bootstrap interval must lie above zero;
/// - or the shared configuration breaches a gate of the category on train that the category's own
///   choice meets — on at least ``minimumQuestions`` questions too: a gate measured on two
///   questions says nothing about the next ones.
///
/// The per-category oracle reported beside the policy follows the same rule, so the two stay
/// comparable.
public struct Specialisation: Sendable {
    public static let folds = 5
    /// Fewer train questions than this give no evidence, by gain or by gates: two per fold at least.
    public static let minimumQuestions = 2 * folds

    public struct Evidence: Sendable, Equatable {
        public var category: String
        public var questions: Int
        /// The category's own choice on all its train questions.
        public var own: RAGSettings
        /// Whether any configuration of the grid meets the category's gates on train (at the point
        /// estimates; the choice prefers those holding them with margin).
        public var feasible: Bool
        /// Per query: the own choice (made on the other folds) minus the shared configuration, on
        /// each held-out fold; nil with fewer than ``Specialisation/minimumQuestions`` questions.
        public var crossFittedGain: BootstrapInterval?
        /// The shared configuration does not hold the category's gates with margin on train, and
        /// `own` does.
        public var sharedBreachesGates: Bool
        /// Gate → how far `own` misses it, relative to the threshold (only the gates it misses).
        public var shortfalls: [String: Double]
        /// Gate → the best value any configuration reached on the category's train questions:
        /// what a threshold could be set to.
        public var bestValues: [String: Double]
        /// The shared configuration's reward on the category's train questions, which a
        /// specialised policy's own choice must reach.
        public var sharedReward: Double

        public var specialised: Bool { reason == .crossFittedGain || reason == .sharedBreachesGates }
        public var reason: Reason {
            if crossFittedGain == nil && !sharedBreachesGates { return .tooFewQuestions }
            if sharedBreachesGates { return .sharedBreachesGates }
            return crossFittedGain!.lower > 0 ? .crossFittedGain : .noEvidence
        }
    }

    public enum Reason: String, Sendable, Codable {
        case crossFittedGain = "cross-fitted gain above zero"
        case sharedBreachesGates = "the shared configuration breaches a gate the category's own meets"
        case noEvidence = "cross-fitted gain's interval reaches zero"
        case tooFewQuestions = "too few train questions for evidence"
    }

    public let shared: RAGSettings
    /// By category, in the cache's category order.
    public let evidence: [Evidence]

    /// Judges every category of `cache` (the train split) over `grid`; `queryReward` is the
    /// per-query reward the verdict pairs.
    public init(cache: EvaluationCache, grid: [RAGSettings], shared: RAGSettings, reward: RewardFunction,
                queryReward: (QueryOutcome) -> Double, bootstrap: Bootstrap) throws {
        self.shared = shared
        var members = [[Int]](repeating: [], count: cache.categories.count)
        for i in 0..<cache.queries.count { members[cache.categoryIndex(at: i)].append(i) }
        let workspace = cache.makeWorkspace()
        evidence = try cache.categories.enumerated().filter { !members[$0.offset].isEmpty }.map { c, name in
            let questions = members[c]
            let categoryReward = reward.forCategory(name)
            let fold = questions.indices.map { $0 % Self.folds }
            let heldIn = (0..<Self.folds).map { k in questions.indices.filter { fold[$0] != k } }
            let crossFits = questions.count >= Self.minimumQuestions
            var rewards: [[Double]] = []
            var whole: [MetricsSummary] = []
            var perFold = [[MetricsSummary]](repeating: [], count: Self.folds)
            for configuration in grid {
                let outcomes = try questions.map { try cache.outcome(at: $0, configuration: configuration, workspace: workspace) }
                rewards.append(outcomes.map(queryReward))
                whole.append(MetricsSummary(outcomes, reward: categoryReward))
                if crossFits { for k in 0..<Self.folds { perFold[k].append(MetricsSummary(outcomes, members: heldIn[k], reward: categoryReward)) } }
            }
            let sharedOutcomes = try questions.map { try cache.outcome(at: $0, configuration: shared, workspace: workspace) }
            let sharedRewards = sharedOutcomes.map(queryReward)
            let sharedSummary = MetricsSummary(sharedOutcomes, reward: categoryReward)
            let (ownIndex, held) = ConfigurationGrid.choose(whole)!
            let feasible = whole.contains(where: \.gatesPassed)
            var gain: BootstrapInterval?
            if crossFits {
                var differences = [Double](repeating: 0, count: questions.count)
                for k in 0..<Self.folds {
                    let choice = ConfigurationGrid.choose(perFold[k])!.index
                    for j in questions.indices where fold[j] == k { differences[j] = rewards[choice][j] - sharedRewards[j] }
                }
                gain = bootstrap.mean(differences)
            }
            let ownGates = whole[ownIndex].reward.gates
            return Evidence(
                category: name, questions: questions.count, own: grid[ownIndex], feasible: feasible, crossFittedGain: gain,
                sharedBreachesGates: crossFits && held && !sharedSummary.gatesHeldWithMargin && grid[ownIndex] != shared,
                shortfalls: Dictionary(uniqueKeysWithValues: ownGates.filter { !$0.passed }.map { ($0.name, $0.relativeShortfall) }),
                bestValues: ConfigurationGrid.bestGateValues(whole), sharedReward: sharedSummary.reward.reward)
        }
    }

    public func evidence(for category: String) -> Evidence? { evidence.first { $0.category == category } }

    /// What a category is served when the learned policy proposes `proposed` for it: the proposal
    /// where the category is specialised and the proposal reaches the shared configuration's
    /// reward on the category's train questions (`proposedReward`); the shared configuration
    /// otherwise, and for a category without evidence at all.
    public func serves(_ category: String, proposed: RAGSettings, proposedReward: Double) -> RAGSettings {
        guard let e = evidence(for: category), e.specialised, proposedReward >= e.sharedReward else { return shared }
        return proposed
    }
}
