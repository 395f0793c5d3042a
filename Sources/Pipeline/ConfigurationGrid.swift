import Retrieval
import Scoring
import TunerPolicy

/// Every static configuration the action bounds allow on a grid: variants × k × re-rank ×
/// fusion weight × template. The fusion weight only varies for the variants that use it
/// (hybrid, RRF); BM25 and dense appear once per other setting.
public enum ConfigurationGrid {
    public static func configurations(_ actions: PolicyConfiguration.ActionBounds, rerankAvailable: Bool) -> [RAGSettings] {
        var result: [RAGSettings] = []
        for variantName in actions.variants {
            guard let variant = RAGSettings.Variant(rawValue: variantName) else { continue }
            let weights = variant.usesFusionWeight ? actions.fusionWeightGrid : [0.5]
            for k in actions.topKGrid {
                for rerank in actions.rerank where !rerank || rerankAvailable {
                    for w in weights {
                        for templateName in actions.templates {
                            guard let template = RAGSettings.Template(rawValue: templateName) else { continue }
                            result.append(RAGSettings(variant: variant, k: k, rerank: rerank, fusionWeight: w, template: template))
                        }
                    }
                }
            }
        }
        return result
    }

    /// The best report: the highest reward among those that pass every gate, or, when none
    /// passes, the highest reward overall (the caller reports that no configuration passed).
    public static func best(_ reports: [BatchReport]) -> BatchReport? {
        let passing = reports.filter(\.overall.gatesPassed)
        return (passing.isEmpty ? reports : passing).max { $0.overall.reward.reward < $1.overall.reward.reward }
    }
}
