import Evaluators
import Foundation
import Pipeline
import Scoring
import Testing
import Tracking
import TunerPolicy
import TunerServer

/// The budgeted search against `tuner serve` on 127.0.0.1 over the demo data: it keeps to its
/// budget, pays for nothing twice, and chooses a configuration close to the best static one of
/// the whole train split, which a static search would need the whole grid on every question to
/// find. Members of the serialized server suite.
extension TunerServerTests {
    @Test func theSearchKeepsItsBudgetAndFindsANearlyBestConfiguration() async throws {
        let server = TunerServer(evaluator: Loopback.evaluator, policy: nil)
        try await Loopback.withServer({ server.application(port: 0, onRunning: $0) }) { base in
            let remote = RemoteEvaluator(baseURL: base, requestsPerSecond: 100_000)
            let description = try #require(try await remote.describe())
            let ledger = EvaluationLedger(budget: .init(queries: 4_000))
            let source = try RemoteQuerySource(evaluators: [remote], description: description, seed: 3, corpusDocuments: 480, ledger: ledger, store: nil)
            let setup = Loopback.evaluator.setup
            let reward = description.reward(setup.policy)
            let search = BudgetedSearch(source: source, reward: reward)
            let grid = search.grid
            #expect(grid.count == 672 && Set(grid).count == 672, "the evaluator's declared knobs make the whole grid, each configuration once")
            #expect(search.units == [["error_code", "overview", "warranty"]])
            let units = try await runOnOwnThread { try search.run() }
            let unit = try #require(units.first)
            let spent = ledger.spending.tuningQueries
            #expect(spent <= 4_000 && spent == unit.paid && spent > 3_000, "\(ledger.spending)")
            #expect(try await Self.evaluatedQueries(base) == spent, "nothing paid twice")
            #expect(unit.refined > 20 && unit.questions >= 12, "contenders answered on more questions: \(unit)")

            // Judged on every train question, locally: the whole grid, 672 × the split.
            let ids = description.splits["train"]!.values.flatMap { $0 }
            func trainReward(_ c: Configuration) throws -> Double {
                try Loopback.evaluator.evaluate(.init(configuration: c, questions: .init(split: "train", ids: ids))).response.overall.reward(reward).reward
            }
            let rewards = try grid.map(trainReward)
            let best = rewards.max()!, chosen = try trainReward(unit.chosen)
            let rank = rewards.filter { $0 > chosen }.count
            #expect(chosen >= best - 0.03 && rank < 20, "chosen \(unit.chosen): \(chosen), rank \(rank) of \(grid.count); best \(best)")
            #expect(chosen > (try trainReward(description.knobs!.defaults)) + 0.1)
        }
    }

    /// A stop request (Ctrl-C in `tuner train`) ends the search after the round it is in: here
    /// the first answers of every configuration, and the choice is made from them. Those first
    /// answers are spread over blocks of questions, so that what they say of one knob value (all
    /// configurations with the truncated template, say) rests on many questions, not on three.
    @Test func aStopRequestEndsTheSearchAfterItsRound() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("first-answers-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let server = TunerServer(evaluator: Loopback.evaluator, policy: nil)
        try await Loopback.withServer({ server.application(port: 0, onRunning: $0) }) { base in
            let remote = RemoteEvaluator(baseURL: base, requestsPerSecond: 100_000)
            let description = try #require(try await remote.describe())
            let ledger = EvaluationLedger(budget: .init(queries: 4_000))
            let store = try QueryResultStore(folder: folder)
            let source = try RemoteQuerySource(evaluators: [remote], description: description, corpusDocuments: 480, ledger: ledger, store: store,
                                               concurrency: 4)
            let search = BudgetedSearch(source: source, reward: description.reward(Loopback.evaluator.setup.policy))
            let grid = search.grid
            let units = try await runOnOwnThread { try search.run(shouldStop: { true }) }
            #expect(units.count == 1 && units[0].rounds == 0 && units[0].paid == 3 * grid.count && units[0].questions == 3)
            #expect(ledger.spending.tuningQueries == 3 * grid.count)

            let ids = description.splits["train"]!.values.flatMap { $0 }
            let asked = try grid.map { Set(try store.results(evaluator: source.evaluatorKey, configuration: source.key(try source.canonical($0)), ids: ids).keys) }
            #expect(asked.allSatisfy { $0.count == 3 })
            let truncated = grid.indices.filter { grid[$0]["template"] == .text("truncated") }
            let familyQuestions = truncated.reduce(into: Set<String>()) { $0.formUnion(asked[$1]) }
            // The demo's train questions make 15 blocks of 3 (a block's questions are at most half the order).
            let blocks = min(24, ids.count / 6)
            #expect(blocks == 15 && asked.reduce(into: Set<String>()) { $0.formUnion($1) }.count == 3 * blocks)
            #expect(truncated.count == 168 && familyQuestions.count == 3 * blocks, "\(familyQuestions.count) questions")
        }
    }

    /// Categories under other gates are searched apart, each within an equal share; a budget
    /// that cannot answer the grid once is refused, naming what it would take.
    @Test func categoriesUnderOtherGatesAreSearchedApart() throws {
        var description = Loopback.evaluator.description
        var strict = description.gates
        strict.relevancyMin = 0.9
        description.categoryGates = ["warranty": strict]
        let ledger = EvaluationLedger(budget: .init(queries: 1_000))
        let source = try RemoteQuerySource(evaluators: [RemoteEvaluator(baseURL: URL(string: "http://127.0.0.1:9")!)], description: description,
                                           corpusDocuments: 480, ledger: ledger, store: nil)
        let setup = Loopback.evaluator.setup
        let search = BudgetedSearch(source: source, reward: description.reward(setup.policy))
        #expect(search.units == [["error_code", "overview"], ["warranty"]])
        let refused = #expect(throws: BudgetedSearch.Failure.self) { try search.run() }
        #expect(refused?.description.contains("500 query-evaluations") == true && refused?.description.contains("2016") == true,
                "\(String(describing: refused))")
        #expect(ledger.spending.tuningQueries == 0)
    }

    /// `tuner train --evaluator URL --budget-queries N --json` searches by default: within the
    /// budget, one unit for the demo's shared gates, every category served the unit's choice,
    /// and the saved checkpoint serves exactly that to each category — and to a category the
    /// search never tuned the service's default, not its untrained network's choice.
    @Test func aSearchedRunServesItsChoiceFromItsCheckpoint() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: ServeProcessTests.tuner.path), "no tuner binary at \(ServeProcessTests.tuner.path)")
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("searched-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let server = TunerServer(evaluator: Loopback.evaluator, policy: nil)
        try await Loopback.withServer({ server.application(port: 0, onRunning: $0) }) { base in
            let result = try TrainProcessTests.tuner([
                "train", "--mode", "offline", "--evaluator", base.absoluteString, "--budget-queries", "2500", "--corpus-documents", "480",
                "--seed", "4", "--evaluator-concurrency", "4", "--out", out.path, "--json",
            ])
            let spent = try #require(result["query_evaluations"] as? Int)
            #expect(result["stopped_by"] as? String == "budget" && spent <= 2_500 && spent > 2_016, "\(result)")
            let search = try #require(result["search"] as? [[String: Any]])
            #expect(search.count == 1 && search[0]["categories"] as? [String] == ["error_code", "overview", "warranty"])
            // All of it is the search's: PPO's environments, never stepped, pay for no starting state.
            #expect(search[0]["query_evaluations"] as? Int == spent)
            let chosen = try JSONDecoder().decode(RAGSettings.self, from: JSONSerialization.data(withJSONObject: search[0]["chosen"]!))
            let served = try #require(result["policy_configs"] as? [String: Any])
            for category in ["error_code", "overview", "warranty"] {
                #expect(try JSONDecoder().decode(RAGSettings.self, from: JSONSerialization.data(withJSONObject: served[category]!)) == chosen)
            }
            let run = try #require(result["run_id"] as? String)
            let policy = try RAGPolicy(contentsOf: out.appendingPathComponent(run).appendingPathComponent("policy.ckpt"))
            for category in ["error_code", "overview", "warranty"] {
                let context = PolicyContext(category: category, faithfulness: 0.5, relevancy: 0.5, latencyP50Milliseconds: 200, latencyP95Milliseconds: 400,
                                            costUSD: 0.001, corpusDocuments: 480)
                #expect(policy.decide(context).settings == chosen, "\(category)")
            }
            let unseen = PolicyContext(category: "never-tuned", faithfulness: 0.5, relevancy: 0.5, latencyP50Milliseconds: 200,
                                       latencyP95Milliseconds: 400, costUSD: 0.001, corpusDocuments: 480)
            #expect(chosen != RAGSettings() && policy.decide(unseen).settings == RAGSettings())
        }
    }
}
