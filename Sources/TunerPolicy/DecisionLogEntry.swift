import Foundation

/// One line of a decision log (JSON lines, schema in docs/decision-log.md): either a decision —
/// what the policy saw and chose, with its probability — or, later, the outcome observed for the
/// same request id. Off-policy evaluation (`tuner ope`) and log replay join the two by request id.
public struct DecisionLogEntry: Sendable, Equatable, Codable {
    public enum Event: String, Sendable, Codable {
        case decision, outcome
    }

    public var event: Event
    /// ISO 8601 with milliseconds, UTC.
    public var timestamp: String
    public var requestID: String

    // A decision's fields.
    public var policyVersion: String?
    public var arm: TrafficSplit.Arm?
    public var category: String?
    /// The features the policy read (``ContextFeatures``), before normalisation.
    public var context: [Float]?
    /// The action in stored form (``Decision/storedAction``).
    public var action: [Float]?
    /// The configuration served: the pipeline's settings, or a service's own knobs.
    public var configuration: Configuration?
    /// π(action | context) under the policy that decided.
    public var propensity: Double?
    public var sampled: Bool?
    /// The question asked, where the service logs it (the self-improvement loop replays it).
    public var question: String?

    // An outcome's fields.
    public var outcome: DecisionOutcome?

    enum CodingKeys: String, CodingKey {
        case event, timestamp, arm, category, context, action, configuration, propensity, sampled, question, outcome
        case requestID = "request_id"
        case policyVersion = "policy_version"
    }

    public init(decision: Decision, requestID: String, context: PolicyContext, features: [Float],
                arm: TrafficSplit.Arm? = nil, sampled: Bool = false, question: String? = nil, at date: Date = Date()) {
        event = .decision
        timestamp = Self.timestamp(date)
        self.requestID = requestID
        policyVersion = decision.policyVersion
        self.arm = arm
        category = context.category
        self.context = features
        action = decision.storedAction
        configuration = decision.settings.configuration
        propensity = decision.probability
        self.sampled = sampled
        self.question = question
    }

    /// A decision without a policy network (a version of the production configuration, a
    /// configuration table): the configuration was served with probability 1.
    public init(configuration: Configuration, version: String, requestID: String, category: String, question: String?,
                arm: TrafficSplit.Arm? = nil, at date: Date = Date()) {
        event = .decision
        timestamp = Self.timestamp(date)
        self.requestID = requestID
        policyVersion = version
        self.arm = arm
        self.category = category
        self.configuration = configuration
        propensity = 1
        sampled = false
        self.question = question
    }

    public init(outcome: DecisionOutcome, requestID: String, at date: Date = Date()) {
        event = .outcome
        timestamp = Self.timestamp(date)
        self.requestID = requestID
        self.outcome = outcome
    }

    public static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}

/// What the service observed after serving a request. Every field is optional: a service reports
/// what it has. `reward`, when given, is used as is; otherwise the tuner computes the reward from
/// faithfulness, relevancy, latency and cost with its reward weights.
public struct DecisionOutcome: Sendable, Equatable, Codable {
    public var latencyMilliseconds: Double?
    public var costUSD: Double?
    public var faithfulness: Double?
    public var relevancy: Double?
    /// User feedback in [0, 1] (thumbs down 0, up 1), kept for analysis.
    public var feedback: Double?
    public var error: Bool?
    public var reward: Double?

    public init(latencyMilliseconds: Double? = nil, costUSD: Double? = nil, faithfulness: Double? = nil, relevancy: Double? = nil,
                feedback: Double? = nil, error: Bool? = nil, reward: Double? = nil) {
        self.latencyMilliseconds = latencyMilliseconds
        self.costUSD = costUSD
        self.faithfulness = faithfulness
        self.relevancy = relevancy
        self.feedback = feedback
        self.error = error
        self.reward = reward
    }

    /// This outcome with the fields `later` reports replacing its own: a service may report
    /// latency and cost at once and the user's feedback later, in two lines.
    public func merging(_ later: DecisionOutcome) -> DecisionOutcome {
        DecisionOutcome(
            latencyMilliseconds: later.latencyMilliseconds ?? latencyMilliseconds, costUSD: later.costUSD ?? costUSD,
            faithfulness: later.faithfulness ?? faithfulness, relevancy: later.relevancy ?? relevancy,
            feedback: later.feedback ?? feedback, error: later.error ?? error, reward: later.reward ?? reward)
    }

    enum CodingKeys: String, CodingKey {
        case faithfulness, relevancy, feedback, error, reward
        case latencyMilliseconds = "latency_ms"
        case costUSD = "cost_usd"
    }
}
