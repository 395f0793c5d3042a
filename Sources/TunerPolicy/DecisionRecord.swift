/// One logged decision joined with its outcome, as off-policy evaluation reads it: the context
/// features the policy saw, the action taken (stored form: head indices, 0/1, reals), its
/// probability under the logging policy (for continuous heads, the density), the action mask if
/// any, and the reward observed. A decision log (``DecisionLogEntry`` lines) becomes these.
public struct DecisionRecord: Sendable, Equatable, Codable {
    public var context: [Float]
    public var action: [Float]
    public var propensity: Double?
    public var reward: Double?
    public var mask: [Float]?

    public init(context: [Float], action: [Float], propensity: Double?, reward: Double?, mask: [Float]? = nil) {
        self.context = context
        self.action = action
        self.propensity = propensity
        self.reward = reward
        self.mask = mask
    }
}
