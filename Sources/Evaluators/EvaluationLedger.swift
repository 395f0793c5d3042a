import Synchronization

/// What a run against a remote evaluator has paid for — questions answered and the cost the
/// evaluator reported, tuning and verdict apart — and the budget tuning may not exceed.
public final class EvaluationLedger: Sendable {
    public struct Budget: Sendable, Equatable {
        /// Query-evaluations tuning may spend (the verdict's are counted apart).
        public var queries: Int?
        /// US dollars tuning may spend, as the evaluator reports its cost.
        public var usd: Double?
        public init(queries: Int? = nil, usd: Double? = nil) {
            self.queries = queries
            self.usd = usd
        }
    }

    public enum Phase: String, Sendable { case tuning, verdict }

    public struct Spending: Sendable, Equatable {
        public var tuningQueries = 0
        public var verdictQueries = 0
        public var tuningUSD = 0.0
        public var verdictUSD = 0.0
        /// POSTs sent.
        public var requests = 0
        /// Question results answered from what was already paid for (this run or an earlier one).
        public var reused = 0
        public var queries: Int { tuningQueries + verdictQueries }
        public var usd: Double { tuningUSD + verdictUSD }
        public init() {}
    }

    /// Tuning reached its budget; the run stops there and gives its verdict.
    public struct Exhausted: Error, CustomStringConvertible, Equatable {
        public var spent: Spending
        public var budget: Budget
        public var description: String {
            var parts: [String] = []
            if let q = budget.queries { parts.append("\(spent.tuningQueries) of \(q) query-evaluations") }
            if let usd = budget.usd { parts.append("$\(spent.tuningUSD) of $\(usd)") }
            return "tuning budget reached: \(parts.joined(separator: ", ")) spent"
        }
    }

    public let budget: Budget
    private struct State {
        var phase = Phase.tuning
        var spending = Spending()
    }
    private let state = Mutex(State())

    public init(budget: Budget = Budget()) { self.budget = budget }

    public var spending: Spending { state.withLock { $0.spending } }
    public var phase: Phase { state.withLock { $0.phase } }
    public func enter(_ phase: Phase) { state.withLock { $0.phase = phase } }

    /// Reserves `queries` question evaluations before they are asked for, or throws
    /// ``Exhausted`` when tuning would pass its budget: the query budget is never exceeded, the
    /// dollar budget by at most one request (its cost is known only from the answer, so the
    /// estimate is the mean cost per query so far).
    public func reserve(queries: Int) throws {
        try state.withLock { s in
            guard s.phase == .tuning else { return }
            let spent = s.spending
            if let limit = budget.queries, spent.tuningQueries + queries > limit { throw Exhausted(spent: spent, budget: budget) }
            if let limit = budget.usd {
                let perQuery = spent.tuningQueries > 0 ? spent.tuningUSD / Double(spent.tuningQueries) : 0
                if spent.tuningUSD + perQuery * Double(queries) > limit { throw Exhausted(spent: spent, budget: budget) }
            }
        }
    }

    /// Records one answered request of `queries` questions costing `usd` in all.
    public func paid(queries: Int, usd: Double) {
        state.withLock { s in
            s.spending.requests += 1
            switch s.phase {
            case .tuning:
                s.spending.tuningQueries += queries
                s.spending.tuningUSD += usd
            case .verdict:
                s.spending.verdictQueries += queries
                s.spending.verdictUSD += usd
            }
        }
    }

    public func reused(_ queries: Int) { state.withLock { $0.spending.reused += queries } }
}
