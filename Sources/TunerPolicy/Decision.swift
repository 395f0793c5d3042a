import Foundation

/// One decision of a ``RAGPolicy``: the settings to apply and how likely the policy was to make
/// exactly this choice — the propensity off-policy evaluation divides by.
public struct Decision: Sendable, Equatable {
    public let settings: RAGSettings
    /// The ``RAGPolicy/version`` of the policy that decided.
    public let policyVersion: String
    /// The fusion weight as drawn, before clipping into its range (what the log-probability is of).
    public let fusionWeightSample: Double
    /// log π(action | context): log-probabilities of the discrete heads plus the log-density of
    /// the fusion weight.
    public let logProbability: Double
    let variantIndex: Int
    let kIndex: Int
    let templateIndex: Int

    init(settings: RAGSettings, policyVersion: String, fusionWeightSample: Double, logProbability: Double,
         indices: (variant: Int, k: Int, template: Int)) {
        self.settings = settings
        self.policyVersion = policyVersion
        self.fusionWeightSample = fusionWeightSample
        self.logProbability = logProbability
        variantIndex = indices.variant
        kIndex = indices.k
        templateIndex = indices.template
    }

    /// π(action | context): a probability for the discrete heads times a density for the fusion
    /// weight, so it may exceed 1 when the fusion head is sharp.
    public var probability: Double { exp(logProbability) }

    /// The action in the policy's stored form (head indices, 0/1, the raw fusion sample): what a
    /// decision log records so the policy's probability of it can be computed again.
    public var storedAction: [Float] {
        [Float(variantIndex), Float(kIndex), settings.rerank ? 1 : 0, Float(fusionWeightSample), Float(templateIndex)]
    }
}
