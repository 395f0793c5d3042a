import Evaluators
import Foundation
import Pipeline
import Statistics
import TunerPolicy
import Tuning

/// A finished run's verdict as it is printed with `--json` and stored with the run: the
/// held-out split's figures under `test` (what `tuner runs list` and `compare` read), how the
/// judged policy was chosen (offline), and what tuning paid (against an evaluator).
public struct RunReport: Codable, Sendable {
    /// A paired difference with its 95% bootstrap interval.
    public struct Interval: Codable, Sendable, Equatable {
        public var mean: Double
        public var ciLow: Double
        public var ciHigh: Double

        enum CodingKeys: String, CodingKey {
            case mean
            case ciLow = "ci_low", ciHigh = "ci_high"
        }

        public init(_ interval: BootstrapInterval) {
            mean = interval.estimate
            ciLow = interval.lower
            ciHigh = interval.upper
        }
    }

    /// Mean per-query reward of each configuration: what the paired gains are differences of.
    public struct QueryRewards: Codable, Sendable, Equatable {
        public var policy: Double
        public var defaultStatic: Double
        public var bestStatic: Double
        public var oracle: Double

        enum CodingKeys: String, CodingKey {
            case policy, oracle
            case defaultStatic = "default_static", bestStatic = "best_static"
        }
    }

    /// Why a category is served its own configuration or the shared one (``Specialisation``), and
    /// for a category whose gates no configuration meets on train, how far its choice misses them
    /// and the best value any configuration reached.
    public struct CategoryEvidence: Codable, Sendable, Equatable {
        public var specialised: Bool
        public var reason: String
        public var questions: Int
        public var crossFittedGain: Interval?
        public var own: Configuration
        public var feasible: Bool
        public var shortfalls: [String: Double]?
        public var bestValues: [String: Double]?

        enum CodingKeys: String, CodingKey {
            case specialised, reason, questions, own, feasible, shortfalls
            case crossFittedGain = "cross_fitted_gain", bestValues = "best_values"
        }

        init(_ e: Specialisation.Evidence) {
            specialised = e.specialised
            reason = e.reason.rawValue
            questions = e.questions
            crossFittedGain = e.crossFittedGain.map(Interval.init)
            own = e.own.configuration
            feasible = e.feasible
            shortfalls = e.feasible ? nil : e.shortfalls
            bestValues = e.feasible ? nil : e.bestValues
        }
    }

    /// The held-out split's figures; the best-static and oracle references exist offline only.
    public struct Test: Codable, Sendable {
        public var policyReward: Double
        public var defaultStaticReward: Double
        public var bestStaticReward: Double?
        public var oracleReward: Double?
        public var gainVsDefault: Interval
        public var gainVsBestStatic: Interval?
        public var gainVsOracle: Interval?
        public var queryReward: QueryRewards?
        public var gateViolations: [String]
        public var gatesUnattainable: [String]?
        public var overallGatesPassed: Bool?
        public var policyConfigs: [String: Configuration]
        public var bestStaticConfig: Configuration?
        public var oracleConfigs: [String: Configuration]?
        /// By train category: whether it earned its own configuration (offline).
        public var specialisation: [String: CategoryEvidence]?
        /// What the learned network proposed per train category, before the evidence rule.
        public var proposedConfigs: [String: Configuration]?
        /// The margin choices on train kept from the gates (``MetricsSummary/marginDescription``).
        public var gateMargin: String?
        public var policy: MetricsSummary?
        /// Against an evaluator: how many pairs the gain is over, and what a pair is.
        public var pairs: Int?
        public var pairedOver: String?

        enum CodingKeys: String, CodingKey {
            case policy, pairs, specialisation
            case policyReward = "policy_reward", defaultStaticReward = "default_static_reward", bestStaticReward = "best_static_reward"
            case oracleReward = "oracle_reward", gainVsDefault = "gain_vs_default", gainVsBestStatic = "gain_vs_best_static"
            case gainVsOracle = "gain_vs_oracle", queryReward = "query_reward", gateViolations = "gate_violations"
            case gatesUnattainable = "gates_unattainable", overallGatesPassed = "overall_gates_passed", policyConfigs = "policy_configs"
            case bestStaticConfig = "best_static_config", oracleConfigs = "oracle_configs", pairedOver = "paired_over"
            case proposedConfigs = "proposed_configs", gateMargin = "gate_margin"
        }
    }

    /// Which update's policy was judged, and its score on the train split beside the oracle's.
    public struct Selection: Codable, Sendable, Equatable {
        public var rule: PolicySelection
        public var update: Int
        public var updates: Int
        public var trainReward: Double
        public var oracleTrainReward: Double

        enum CodingKeys: String, CodingKey {
            case rule, update, updates
            case trainReward = "train_reward", oracleTrainReward = "oracle_train_reward"
        }
    }

    public var runID: String
    public var dataset: String?
    public var wallSeconds: Double
    public var test: Test
    public var policySelection: Selection?
    // Against an evaluator.
    public var evaluators: [String]?
    public var stoppedBy: TrainingRun.Stop?
    public var queryEvaluations: Int?
    public var verdictQueryEvaluations: Int?
    public var costUSD: Double?
    public var verdictCostUSD: Double?
    public var requests: Int?
    public var reusedResults: Int?
    public var unjudgedCategories: [String]?
    public var policyConfigs: [String: Configuration]?
    public var learnedReward: [String: Double]?
    public var defaultReward: [String: Double]?
    public var search: [SearchUnit]?

    /// What the budgeted search spent on a group of categories and what it chose.
    public struct SearchUnit: Codable, Sendable, Equatable {
        public var categories: [String]
        public var chosen: Configuration
        public var trainReward: Double
        public var questions: Int
        public var queryEvaluations: Int
        public var refinedConfigurations: Int
        public var rounds: Int

        enum CodingKeys: String, CodingKey {
            case categories, chosen, questions, rounds
            case trainReward = "train_reward", queryEvaluations = "query_evaluations", refinedConfigurations = "refined_configurations"
        }

        init(_ u: BudgetedSearch.UnitResult) {
            categories = u.categories
            chosen = u.chosen
            trainReward = u.trainReward
            questions = u.questions
            queryEvaluations = u.paid
            refinedConfigurations = u.refined
            rounds = u.rounds
        }
    }

    enum CodingKeys: String, CodingKey {
        case dataset, test, evaluators, requests, search
        case runID = "run_id", wallSeconds = "wall_seconds", policySelection = "policy_selection", stoppedBy = "stopped_by"
        case queryEvaluations = "query_evaluations", verdictQueryEvaluations = "verdict_query_evaluations", costUSD = "cost_usd"
        case verdictCostUSD = "verdict_cost_usd", reusedResults = "reused_results", unjudgedCategories = "unjudged_categories"
        case policyConfigs = "policy_configs", learnedReward = "learned_reward", defaultReward = "default_reward"
    }

    /// An offline run's verdict.
    public init(_ v: OfflineTuning.Verdict, runID: String, dataset: String, wallSeconds: Double, selection: Selection) {
        self.runID = runID
        self.dataset = dataset
        self.wallSeconds = wallSeconds
        policySelection = selection
        test = Test(
            policyReward: v.policy.reward.reward, defaultStaticReward: v.defaultStatic.reward.reward,
            bestStaticReward: v.bestStatic.reward.reward, oracleReward: v.oracle.reward.reward,
            gainVsDefault: Interval(v.gainVersusDefault), gainVsBestStatic: Interval(v.gainVersusBestStatic),
            gainVsOracle: Interval(v.gainVersusOracle),
            queryReward: QueryRewards(policy: v.queryRewards.policy, defaultStatic: v.queryRewards.defaultStatic,
                                      bestStatic: v.queryRewards.bestStatic, oracle: v.queryRewards.oracle),
            gateViolations: v.gateViolations, gatesUnattainable: v.unattainableGateCategories, overallGatesPassed: v.overallGatesPassed,
            policyConfigs: v.policyConfigurations.mapValues(\.configuration),
            bestStaticConfig: v.bestStaticConfiguration.configuration,
            oracleConfigs: v.oracleConfigurations.mapValues(\.configuration),
            specialisation: Dictionary(uniqueKeysWithValues: v.specialisation.evidence.map { ($0.category, CategoryEvidence($0)) }),
            proposedConfigs: v.proposedConfigurations.mapValues(\.configuration), gateMargin: MetricsSummary.marginDescription,
            policy: v.policy)
    }

    /// A run against an evaluator: its verdict and what tuning and the verdict paid.
    public init(_ v: RemoteTuning.Verdict, runID: String, evaluators: [String], spending s: EvaluationLedger.Spending, stoppedBy: TrainingRun.Stop,
                search: [BudgetedSearch.UnitResult]? = nil, wallSeconds: Double) {
        self.search = search?.map(SearchUnit.init)
        let configurations = v.configurations
        self.runID = runID
        self.wallSeconds = wallSeconds
        self.evaluators = evaluators
        self.stoppedBy = stoppedBy
        queryEvaluations = s.tuningQueries
        verdictQueryEvaluations = s.verdictQueries
        costUSD = s.tuningUSD
        verdictCostUSD = s.verdictUSD
        requests = s.requests
        reusedResults = s.reused
        unjudgedCategories = v.unjudgedCategories
        policyConfigs = configurations
        learnedReward = v.learned
        defaultReward = v.defaultStatic
        test = Test(
            policyReward: v.policyReward, defaultStaticReward: v.defaultReward, gainVsDefault: Interval(v.gain),
            gateViolations: v.gateViolations, policyConfigs: configurations, pairs: v.pairs, pairedOver: v.pairing.rawValue)
    }

    /// The JSON a run stores and `--json` prints: sorted keys, so the same verdict gives the same bytes.
    public var json: String {
        get throws { String(decoding: try ReportJSON.encoder.encode(self), as: UTF8.self) }
    }
}
