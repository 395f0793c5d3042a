import ArgumentParser
import Evaluators
import Foundation

/// `tuner train --evaluator URL …`: where the remote evaluator is, how hard to press it, and what
/// tuning may spend.
struct EvaluatorOptions: ParsableArguments {
    @Option(name: .customLong("evaluator"), help: "Train against a remote evaluator (its GET /tuner/evaluator and POST /tuner/evaluate) instead of the built-in pipeline; repeat for several endpoints of one evaluator.")
    var urls: [String] = []

    @Option(name: .customLong("evaluator-rate"), help: "Requests per second to the evaluators at most, all endpoints together.")
    var rate = 50.0

    @Option(name: .customLong("evaluator-timeout"), help: "Seconds an evaluator call may take before it is retried.")
    var timeout = 30.0

    @Option(name: .customLong("evaluator-concurrency"), help: "Requests in flight at once, spread over the endpoints.")
    var concurrency = 1

    @Option(help: "Documents in the evaluator's corpus (a feature of the policy's context).")
    var corpusDocuments = 1000

    @Option(help: "Query-evaluations tuning may pay for (the verdict's are counted apart); at the budget the run stops, saves and gives its verdict.")
    var budgetQueries: Int?

    @Option(name: .customLong("budget-usd"), help: "US dollars tuning may spend, as the evaluator reports its cost.")
    var budgetUSD: Double?

    @Option(help: "Train questions per category that tuning batches are drawn from (default: all of them).")
    var poolSize: Int?

    /// How tuning spends the evaluator's answers.
    enum Strategy: String, ExpressibleByArgument, CaseIterable {
        case search, ppo
    }

    @Option(help: "How tuning spends evaluations: 'search', the budgeted search of the grid (a response model says which configurations to answer on more questions; needs an evaluator that answers per question), or 'ppo', PPO on real evaluations.")
    var strategy: Strategy = .search

    var isRemote: Bool { !urls.isEmpty }

    func validate() throws {
        _ = try endpoints
        guard rate > 0, timeout > 0, corpusDocuments >= 1 else {
            throw ValidationError("--evaluator-rate, --evaluator-timeout and --corpus-documents must be positive")
        }
        guard (1...64).contains(concurrency) else { throw ValidationError("--evaluator-concurrency must lie in 1...64, got \(concurrency)") }
        if let budgetQueries, budgetQueries < 1 { throw ValidationError("--budget-queries must be positive, got \(budgetQueries)") }
        if let budgetUSD, !(budgetUSD.isFinite && budgetUSD > 0) { throw ValidationError("--budget-usd must be a positive number, got \(budgetUSD)") }
        if let poolSize, poolSize < 1 { throw ValidationError("--pool-size must be positive, got \(poolSize)") }
        guard isRemote || (budgetQueries == nil && budgetUSD == nil && poolSize == nil) else {
            throw ValidationError("--budget-queries, --budget-usd and --pool-size apply to --evaluator runs")
        }
    }

    var endpoints: [URL] {
        get throws { try urls.map { try ServiceURL.parse($0, option: "--evaluator") } }
    }

    /// One client per endpoint, each with its own circuit breaker, all under one rate limit.
    var evaluators: [RemoteEvaluator] {
        get throws {
            let limiter = RateLimiter(ratePerSecond: rate, burst: max(1, rate / 10))
            return try endpoints.map { RemoteEvaluator(baseURL: $0, timeout: timeout, limiter: limiter) }
        }
    }

    var budget: EvaluationLedger.Budget { .init(queries: budgetQueries, usd: budgetUSD) }
}
