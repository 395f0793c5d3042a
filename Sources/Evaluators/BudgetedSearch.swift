import NumericCore
import Pipeline
import Scoring
import Statistics
import TunerPolicy

/// Where a budget of paid query-evaluations goes: a search of the configuration grid that spends
/// them where they decide something.
///
/// Categories that share their gates form a unit (one dataset is one unit; a mixed domain has one
/// per dataset) and get the budget in equal shares. In a unit, every grid configuration is first
/// answered on a few questions (one of `initialBlocks` blocks, so that a knob value's first reading
/// rests on many questions); then, round by round, a ``ResponseModel`` per metric
/// (faithfulness, relevancy, latency, cost, the share of questions over the latency gate) is
/// fitted on everything paid for so far, each configuration's reward is predicted with the unit's
/// gates — optimistically, each metric moved `optimism` posterior standard deviations its
/// favourable way — and the most promising
/// configurations are answered on more questions (`growth` times as many, the next ones of one
/// stratified order: common random numbers, so differences are paired). A configuration that looks
/// poor stays at a few questions; a contender reaches hundreds, where a gate near its threshold
/// can be judged. The unit's choice is the best expected reward judged from its own answers
/// (``judge``) among the configurations answered on at least `eligibleShare` of the most any was:
/// a gate near its threshold counts as breached with the probability its answers leave, so a
/// configuration that passes a gate by luck on the questions it was answered on does not win.
///
/// Every evaluation goes through the query source, so nothing is paid twice and the ledger keeps
/// the budget. The choice rests on real evaluations; the model only says where to look next.
public struct BudgetedSearch: Sendable {
    public struct Options: Sendable, Equatable {
        /// Questions every configuration is first answered on…
        public var initialQuestions = 3
        /// …drawn from this many blocks of the order, each configuration's from one (see ``questionSequences(_:)``).
        public var initialBlocks = 24
        /// How much a chosen configuration's question count grows each time it is picked…
        public var growth = 1.5
        /// …and by at least this many questions.
        public var minimumStep = 5
        /// Configurations answered on more questions per round.
        public var picksPerRound = 4
        /// Standard deviations of optimism in the predictions that pick them.
        public var optimism = 1.0
        /// Share of the largest question count a configuration needs to be chosen.
        public var eligibleShare = 0.25
        /// Query-evaluations per unit when the ledger has no query budget.
        public var unboundedShare = 10_000
        /// The most questions of a unit's order: its gates are judged on this many at most.
        public var questionLimit = 1_500
        public init() {}
    }

    /// One unit's outcome.
    public struct UnitResult: Sendable {
        public var categories: [String]
        public var chosen: Configuration
        /// The chosen configuration's reward on the unit's train questions as its answers judge it, and how
        /// many it was answered on.
        public var trainReward: Double
        public var questions: Int
        /// Query-evaluations the unit paid for, and configurations answered on more than the
        /// first questions.
        public var paid: Int
        public var refined: Int
        public var rounds: Int
    }

    public enum Failure: Error, CustomStringConvertible, Equatable {
        case budgetTooSmall(categories: [String], budget: Int, needed: Int)
        public var description: String {
            switch self {
            case let .budgetTooSmall(categories, budget, needed):
                "the search of \(categories.joined(separator: ", ")) has \(budget) query-evaluations; answering every grid configuration on its first questions takes \(needed): raise --budget-queries or narrow the action bounds"
            }
        }
    }

    public let source: RemoteQuerySource
    public let reward: RewardFunction
    /// The source's knobs' grid (``KnobDeclaration/grid``).
    public let grid: [Configuration]
    public let options: Options
    let model: ResponseModel

    public init(source: RemoteQuerySource, reward: RewardFunction, options: Options = Options()) {
        self.source = source
        self.reward = reward
        grid = source.knobs.grid
        self.options = options
        let (features, count) = Self.features(grid, knobs: source.knobs)
        model = ResponseModel(features: features, featureCount: count)
    }

    /// The categories grouped by the gates in force for them, in the source's category order.
    public var units: [[String]] {
        var units: [(gates: PolicyConfiguration.GateThresholds, categories: [String])] = []
        for category in source.categories {
            let gates = reward.forCategory(category).gates
            if let i = units.firstIndex(where: { $0.gates == gates }) { units[i].categories.append(category) } else { units.append((gates, [category])) }
        }
        return units.map(\.categories)
    }

    /// Searches each unit within its share of the ledger's query budget. `shouldStop` is asked
    /// after each round: answering true ends the search, and each unit chooses from what it has.
    public func run(shouldStop: () -> Bool = { false }, progress: ((String) -> Void)? = nil) throws -> [UnitResult] {
        let units = self.units
        let share = source.ledger.budget.queries.map { max(($0 - source.ledger.spending.tuningQueries) / units.count, 0) } ?? options.unboundedShare
        return try units.map { try search($0, budget: share, shouldStop: shouldStop, progress: progress) }
    }

    /// One stratified question order over the categories' pools: each category's questions spread
    /// evenly through it, so every prefix holds the categories in proportion.
    func order(_ categories: [String]) -> [String] {
        var keyed: [(Double, Int, String)] = []
        for (c, category) in categories.enumerated() {
            let pool = source.pools[source.categories.firstIndex(of: category)!]
            for (i, id) in pool.enumerated() { keyed.append(((Double(i) + 0.5) / Double(pool.count), c, id)) }
        }
        return Array(keyed.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.map(\.2).prefix(options.questionLimit))
    }

    /// The order of questions each configuration is answered in, as positions in the unit's
    /// order, and which of them each configuration of the grid follows. Sequence b starts with
    /// its own block of `initialQuestions` from the end of the order and goes on with the order
    /// from its start: configurations are first answered on `initialBlocks` different blocks
    /// (each configuration's by a hash of its knobs, so a family of configurations sharing a
    /// knob value spreads over most blocks), and what the first answers say of a knob value
    /// rests on dozens of questions rather than on the same few; configurations refined further
    /// share the order's prefix, so their differences stay paired.
    func questionSequences(_ questions: Int) -> (sequences: [[Int]], block: [Int]) {
        let first = min(options.initialQuestions, questions)
        // The blocks take at most half the order, so the shared prefix stays the larger part.
        let blocks = max(1, min(options.initialBlocks, questions / max(2 * first, 1)))
        let sequences = (0..<blocks).map { b -> [Int] in
            let own = Array((questions - (b + 1) * first)..<(questions - b * first))
            return own + (0..<questions).filter { !own.contains($0) }
        }
        return (sequences, grid.map { Int(StableHash.hash($0.description) % UInt64(blocks)) })
    }

    /// What the search measures of each answer, in the model's order: `overCeiling` is 1 where
    /// the answer's latency is over the unit's p95 gate, so its mean is the share of questions
    /// the gate counts.
    enum Metric: Int, CaseIterable { case faithfulness, relevancy, latency, cost, overCeiling }

    func search(_ categories: [String], budget: Int, shouldStop: () -> Bool, progress: ((String) -> Void)?) throws -> UnitResult {
        let order = order(categories)
        let (sequences, block) = questionSequences(order.count)
        let unitReward = reward.forCategory(categories[0])
        let ceiling = unitReward.gates.latencyP95MaxMilliseconds
        var observed = [[[Double]]](repeating: [[Double]](repeating: [], count: grid.count), count: Metric.allCases.count)
        // The questions each configuration was answered on, as slots numbered in the order they
        // were first asked, so that the model's question levels cover only questions answered.
        var asked = [[Int]](repeating: [], count: grid.count)
        var slots: [Int: Int] = [:]
        var errors = [Int](repeating: 0, count: grid.count), violations = [Int](repeating: 0, count: grid.count)
        var counts = [Int](repeating: 0, count: grid.count)
        var paid = 0
        /// Answers each configuration on its sequence's questions up to its target, all at once.
        func extend(_ targets: [(configuration: Int, questions: Int)]) throws {
            let before = source.ledger.spending.tuningQueries
            let positions = targets.map { sequences[block[$0.configuration]][counts[$0.configuration]..<$0.questions] }
            let answers = try source.results(zip(targets, positions).map { (grid[$0.configuration], $1.map { order[$0] }) }, split: source.split)
            paid += source.ledger.spending.tuningQueries - before
            for ((c, n), (results, asking)) in zip(targets, zip(answers, positions)) {
                for position in asking {
                    if slots[position] == nil { slots[position] = slots.count }
                    asked[c].append(slots[position]!)
                }
                for r in results {
                    observed[Metric.faithfulness.rawValue][c].append(r.faithfulness)
                    observed[Metric.relevancy.rawValue][c].append(r.relevancy)
                    observed[Metric.latency.rawValue][c].append(r.latencyMilliseconds)
                    observed[Metric.cost.rawValue][c].append(r.costUSD)
                    observed[Metric.overCeiling.rawValue][c].append(r.latencyMilliseconds > ceiling ? 1 : 0)
                    errors[c] += r.error ? 1 : 0
                    violations[c] += r.violation == true ? 1 : 0
                }
                counts[c] = n
            }
        }
        let first = min(options.initialQuestions, order.count)
        guard grid.count * first <= budget else { throw Failure.budgetTooSmall(categories: categories, budget: budget, needed: grid.count * first) }
        try extend(grid.indices.map { ($0, first) })
        var rounds = 0
        // A dollar budget is checked by the ledger on each request: reaching it ends the search.
        do {
            while !shouldStop() {
                let predicted = try predict(observed, asked: asked, errors: errors, violations: violations, counts: counts, reward: unitReward, optimism: options.optimism)
                let picks = grid.indices.filter { counts[$0] < order.count }.sorted { predicted[$0] > predicted[$1] }.prefix(options.picksPerRound)
                let targets = picks.map { c in min(order.count, max(Int(Double(counts[c]) * options.growth), counts[c] + options.minimumStep)) }
                let cost = zip(picks, targets).reduce(0) { $0 + $1.1 - counts[$1.0] }
                guard !picks.isEmpty, paid + cost <= budget else { break }
                try extend(zip(picks, targets).map { ($0, $1) })
                rounds += 1
                if rounds % 25 == 0 { progress?("\(categories.joined(separator: ", ")): round \(rounds), \(paid)/\(budget) query-evaluations") }
            }
        } catch is EvaluationLedger.Exhausted {}
        let estimates = try judge(observed, asked: asked, errors: errors, violations: violations, counts: counts, reward: unitReward)
        let most = counts.max()!
        let eligible = grid.indices.filter { Double(counts[$0]) >= Double(most) * options.eligibleShare }
        let chosen = eligible.max { estimates[$0].expected < estimates[$1].expected }!
        return UnitResult(
            categories: categories, chosen: grid[chosen], trainReward: estimates[chosen].reward, questions: counts[chosen], paid: paid,
            refined: counts.filter { $0 > first }.count, rounds: rounds)
    }

    /// Each configuration's reward on the unit's questions as the fitted models predict it, each
    /// metric moved `optimism` standard errors its favourable way.
    ///
    /// The latency gate is judged from the predicted share of questions over its ceiling, not
    /// from the p95 of the additive latency model: that p95 takes the spread of the questions'
    /// levels, which is the average configuration's, and a configuration whose latency hardly
    /// follows the question (a capped context) sits well inside it. The additive p95 still sizes
    /// the latency term.
    func predict(_ observed: [[[Double]]], asked: [[Int]], errors: [Int], violations: [Int], counts: [Int], reward: RewardFunction, optimism: Double) throws -> [Double] {
        let fits = try observed.map { try model.fit($0, questions: asked) }
        let latency = fits[Metric.latency.rawValue]
        return grid.indices.map { c in
            func shifted(_ m: Metric, _ direction: Double) -> Double { fits[m.rawValue].mean(c) + direction * optimism * fits[m.rawValue].standardErrors[c] }
            let shift = latency.effects[c] - optimism * latency.standardErrors[c]
            let n = Double(max(counts[c], 1))
            let p95 = Percentile.sorted(latency.questionLevels.map { $0 + shift }.sorted(), 95)
            let predicted = reward.evaluate(BatchMeasurement(
                faithfulness: shifted(.faithfulness, 1), relevancy: shifted(.relevancy, 1), latencyP95Milliseconds: p95,
                costUSD: shifted(.cost, -1), errorRate: Double(errors[c]) / n, violationRate: Double(violations[c]) / n,
                qualitySpread: spread(observed, c, reward: reward))).reward
            let breachedByP95: Double = p95 > reward.gates.latencyP95MaxMilliseconds ? 1 : 0
            // A p95 within the ceiling leaves at most 5% of questions over it.
            let breachedByShare: Double = shifted(.overCeiling, -1) > 0.05 ? 1 : 0
            return predicted + reward.weights.lambda * reward.penalties.gateBreach * (breachedByP95 - breachedByShare)
        }
    }

    /// Each configuration's reward on the unit's questions from its own answers: where it was
    /// answered, the answers; on the questions it was not, the question's level plus its own mean
    /// difference from the levels (not shrunk towards its knobs: the choice rests on its answers).
    /// A configuration answered on every question gets exactly its measured reward. `expected` is
    /// the same reward with each gate's breach penalty weighted by its probability
    /// (``breachProbabilities``) instead of counted at the point estimate.
    func judge(_ observed: [[[Double]]], asked: [[Int]], errors: [Int], violations: [Int], counts: [Int], reward: RewardFunction) throws
        -> [(reward: Double, expected: Double)] {
        let fits = try observed.map { try model.fit($0, questions: asked) }
        return grid.indices.map { c in
            var answered = [Bool](repeating: false, count: fits[0].questionLevels.count)
            for slot in asked[c] { answered[slot] = true }
            func filled(_ m: Metric) -> [Double] {
                let fit = fits[m.rawValue]
                return observed[m.rawValue][c] + zip(fit.questionLevels, answered).filter { !$0.1 }.map { $0.0 + fit.ownEffects[c] }
            }
            func mean(_ values: [Double]) -> Double { values.reduce(0, +) / Double(max(values.count, 1)) }
            let n = Double(max(counts[c], 1))
            let measured = BatchMeasurement(
                faithfulness: mean(filled(.faithfulness)), relevancy: mean(filled(.relevancy)),
                latencyP95Milliseconds: Percentile.sorted(filled(.latency).sorted(), 95), costUSD: mean(filled(.cost)),
                errorRate: Double(errors[c]) / n, violationRate: Double(violations[c]) / n,
                qualitySpread: spread(observed, c, reward: reward))
            let judged = reward.evaluate(measured)
            let breaches = Double(judged.gates.filter { !$0.passed }.count)
            let expected = breachProbabilities(observed, c, measured, reward: reward).reduce(0, +)
            return (judged.reward, judged.reward + reward.weights.lambda * reward.penalties.gateBreach * (breaches - expected))
        }
    }

    /// The probability that each of c's gates is breached on the population of questions its
    /// answers sample, in ``RewardFunction/gateResults(_:)``'s order (``ThresholdEvidence``); the
    /// error rate as measured (a bound on a 1% rate needs more questions than a search gives one
    /// configuration).
    func breachProbabilities(_ observed: [[[Double]]], _ c: Int, _ m: BatchMeasurement, reward: RewardFunction) -> [Double] {
        let gates = reward.gates
        return [
            ThresholdEvidence.meanBelow(gates.faithfulnessMin, estimate: m.faithfulness, sample: observed[Metric.faithfulness.rawValue][c]),
            ThresholdEvidence.meanBelow(gates.relevancyMin, estimate: m.relevancy, sample: observed[Metric.relevancy.rawValue][c]),
            ThresholdEvidence.quantileAbove(gates.latencyP95MaxMilliseconds, quantile: 0.95, sample: observed[Metric.latency.rawValue][c]),
            m.errorRate < gates.errorRateMax ? 0 : 1,
        ]
    }

    /// The standard deviation of the per-question quality of c's answers.
    func spread(_ observed: [[[Double]]], _ c: Int, reward: RewardFunction) -> Double {
        let quality = zip(observed[Metric.faithfulness.rawValue][c], observed[Metric.relevancy.rawValue][c]).map {
            reward.quality(faithfulness: $0, relevancy: $1)
        }
        let n = Double(max(quality.count, 1))
        let meanQuality = quality.reduce(0, +) / n
        return (quality.reduce(0) { $0 + ($1 - meanQuality) * ($1 - meanQuality) } / n).squareRoot()
    }

    /// One-hot features of each knob's value — a knob with a condition read together with the
    /// value of the knob it applies under, and "-" where it does not apply — and of every pair of them.
    static func features(_ grid: [Configuration], knobs: KnobDeclaration) -> (features: [[Int]], count: Int) {
        var index: [String: Int] = [:]
        let rows = grid.map { c -> [Int] in
            let values = knobs.knobs.map { knob in
                let value = knobs.applies(knob, in: c) ? "\(c[knob.name]!)" : "-"
                return knob.condition.map { "\(knob.name)=\(c[$0.knob]!):\(value)" } ?? "\(knob.name)=\(value)"
            }
            var names = values
            for i in values.indices { for j in (i + 1)..<values.count { names.append(values[i] + "&" + values[j]) } }
            return names.map { name in
                if let i = index[name] { return i }
                index[name] = index.count
                return index.count - 1
            }
        }
        return (rows, index.count)
    }
}
