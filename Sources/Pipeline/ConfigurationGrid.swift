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
                for rerank in [false, true] where !rerank || rerankAvailable {
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

    /// The best report: the highest reward among those whose gates hold with margin
    /// (``MetricsSummary/gatesHeldWithMargin``), else among those that pass at the point
    /// estimates, or, when none passes, the highest reward overall (the caller reports that no
    /// configuration passed).
    public static func best(_ reports: [BatchReport]) -> BatchReport? {
        let held = reports.filter(\.overall.gatesHeldWithMargin)
        let passing = held.isEmpty ? reports.filter(\.overall.gatesPassed) : held
        return (passing.isEmpty ? reports : passing).max { $0.overall.reward.reward < $1.overall.reward.reward }
    }

    /// Which of `summaries` (one configuration's results each, on one category's questions) a
    /// category is served: the highest reward among those whose gates hold with margin
    /// (``MetricsSummary/gatesHeldWithMargin``); where none does, the least total relative
    /// shortfall over the gates at the point estimates (so those passing there come first), reward
    /// breaking ties — rather than whichever reward gives up the gate whose penalty costs least.
    /// `feasible`: the choice's gates hold with margin. Nil for no summaries.
    public static func choose(_ summaries: [MetricsSummary]) -> (index: Int, feasible: Bool)? {
        guard !summaries.isEmpty else { return nil }
        if let best = summaries.indices.filter({ summaries[$0].gatesHeldWithMargin }).max(by: { summaries[$0].reward.reward < summaries[$1].reward.reward }) {
            return (best, true)
        }
        func shortfall(_ i: Int) -> Double { summaries[i].reward.gates.reduce(0) { $0 + $1.relativeShortfall } }
        let least = summaries.indices.min { a, b in
            (shortfall(a), -summaries[a].reward.reward) < (shortfall(b), -summaries[b].reward.reward)
        }!
        return (least, false)
    }

    /// Gate → the best value any of `summaries` reached (the highest for a floor, the lowest for
    /// a ceiling): what a threshold could be set to.
    public static func bestGateValues(_ summaries: [MetricsSummary]) -> [String: Double] {
        var best: [String: Double] = [:]
        for gate in summaries.flatMap(\.reward.gates) {
            let current = best[gate.name] ?? gate.value
            best[gate.name] = gate.isFloor ? max(current, gate.value) : min(current, gate.value)
        }
        return best
    }

    /// A category whose gates no configuration meets together, each gate with its threshold, the
    /// best value any configuration reached, and whether some configuration meets it alone.
    public struct UnmetGates: Sendable, Equatable {
        public struct Gate: Sendable, Equatable {
            public var name: String
            public var threshold: Double
            public var best: Double
            public var metAlone: Bool
        }
        public var category: String
        public var gates: [Gate]
    }

    /// The categories of `reports` (one configuration each, on the same questions) whose gates no
    /// configuration meets: said before training, so the team sees which thresholds are out of
    /// reach rather than a verdict comparing breach penalties.
    public static func unmetGates(_ reports: [BatchReport]) -> [UnmetGates] {
        let categories = Set(reports.flatMap(\.perCategory.keys)).sorted()
        return categories.compactMap { category in
            let summaries = reports.compactMap { $0.perCategory[category] }
            guard !summaries.contains(where: \.gatesPassed) else { return nil }
            let best = bestGateValues(summaries)
            let gates = summaries[0].reward.gates.map { gate in
                UnmetGates.Gate(name: gate.name, threshold: gate.threshold, best: best[gate.name]!,
                                metAlone: summaries.contains { $0.reward.gates.first { $0.name == gate.name }!.passed })
            }
            return UnmetGates(category: category, gates: gates)
        }
    }

    /// One line per category of ``unmetGates(_:)``.
    public static func describe(_ unmet: [UnmetGates], split: String) -> String {
        unmet.map { u in
            let gates = u.gates.map { g in
                "\(g.name) \(g.threshold.formatted()) (best reached \(String(format: "%.4g", g.best))\(g.metAlone ? ", met alone by some" : ""))"
            }
            return "category \(u.category): no configuration meets its gates on the \(split) split: \(gates.joined(separator: ", "))"
        }.joined(separator: "\n")
    }
}
