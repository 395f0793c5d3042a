import ConfigurationFiles
import TunerPolicy

/// The `knobs:` section of a policy configuration: the action space as data. Each item declares
/// one knob; every error names the file, the line and the field (`knobs[2].max`).
///
/// ```yaml
/// knobs:
///   - {name: answer_model, kind: categorical, choices: [small, large], default: small}
///   - {name: chunk_size, kind: integer, min: 128, max: 1024, grid: [128, 256, 512, 1024], default: 512}
///   - {name: rewrite_query, kind: bernoulli, default: false}
///   - {name: temperature, kind: continuous, min: 0, max: 1, grid: [0, 0.5, 1], default: 0.2,
///      when: {knob: answer_model, values: [large]}}
/// ```
enum KnobsSection {
    static func parse(_ items: [YAMLFields]) throws -> KnobDeclaration {
        var knobs: [Knob] = []
        for item in items {
            try item.onlyAllow(["name", "kind", "choices", "min", "max", "grid", "distribution", "default", "when"])
            guard let name = try item.text("name") else { throw item.refusal("name", "is missing: every knob needs a name") }
            guard let kindName = try item.string("kind", allowed: Knob.kindNames) else {
                throw item.refusal("kind", "is missing: one of \(Knob.kindNames.joined(separator: ", "))")
            }
            let kind: Knob.Kind
            switch kindName {
            case "categorical":
                kind = .categorical(choices: try item.list("choices", default: [], allowed: "names") { $0.string })
            case "integer":
                let low = try required(item, "min") { $0.int }, high = try required(item, "max") { $0.int }
                guard low < high else { throw item.refusal("max", "is \(high), not above min \(low)") }
                let distribution = try item.string("distribution", allowed: ["softmax", "lognormal"])
                kind = .integer(range: low...high, grid: try item.list("grid", default: [low, high], allowed: "integers") { $0.int },
                                logNormal: distribution == "lognormal")
            case "continuous":
                let low = try required(item, "min") { $0.double }, high = try required(item, "max") { $0.double }
                guard low < high else { throw item.refusal("max", "is \(high), not above min \(low)") }
                kind = .continuous(range: low...high, grid: try item.list("grid", default: [low, high], allowed: "numbers") { $0.double })
            default:
                kind = .bernoulli
            }
            for field in ["choices", "min", "max", "grid", "distribution"] where item.keys.contains(field) && !applies(field, to: kindName) {
                throw item.refusal(field, "does not apply to a \(kindName) knob")
            }
            let defaultValue = try required(item, "default") { value(of: kind, $0) }
            var condition: Knob.Condition?
            if let when = try item.section("when") {
                try when.onlyAllow(["knob", "values"])
                guard let other = try when.text("knob") else { throw when.refusal("knob", "is missing: the knob this one applies under") }
                guard let otherKnob = knobs.first(where: { $0.name == other }) else {
                    throw when.refusal("knob", "is '\(other)', which is not a knob declared before '\(name)'")
                }
                condition = Knob.Condition(knob: other, values: try when.list("values", default: [], allowed: "values of \(other)") { value(of: otherKnob.kind, $0) })
            }
            knobs.append(Knob(name: name, kind: kind, defaultValue: defaultValue, condition: condition))
            if let problem = KnobDeclaration.problem(knobs) { throw item.refusal(problem.field ?? "name", problem.reason) }
        }
        return try KnobDeclaration(knobs)
    }

    static func applies(_ field: String, to kind: String) -> Bool {
        switch field {
        case "choices": kind == "categorical"
        case "distribution": kind == "integer"
        default: kind == "integer" || kind == "continuous"
        }
    }

    /// A YAML value as a value of a knob of `kind`, or nil.
    static func value(of kind: Knob.Kind, _ scalar: YAMLScalar) -> KnobValue? {
        switch kind {
        case .categorical: scalar.string.map(KnobValue.text)
        case .integer: scalar.int.map(KnobValue.integer)
        case .bernoulli: scalar.bool.map(KnobValue.flag)
        case .continuous: scalar.double.map(KnobValue.number)
        }
    }

    static func required<T>(_ item: YAMLFields, _ key: String, _ read: (YAMLScalar) -> T?) throws -> T {
        guard let scalar = try item.scalar(key) else { throw item.refusal(key, "is missing") }
        guard let value = read(scalar) else { throw item.refusal(key, "is '\(scalar.string ?? "?")', which this knob cannot take") }
        return value
    }
}

extension PolicyConfiguration {
    /// The built-in pipeline's knobs, in the order its policy's heads have them.
    public static let pipelineKnobNames = ["variant", "k", "rerank", "fusion_weight", "template"]

    /// Where the file declares another service's knobs, which the built-in pipeline cannot apply.
    public struct ForeignKnobs: Error, CustomStringConvertible {
        public var declared: [String]
        /// What needs the pipeline's knobs ("offline tuning", "the built-in evaluator").
        public var user: String
        public var description: String {
            """
            the policy file declares the knobs of another service (\(declared.joined(separator: ", "))); \
            \(user) runs the built-in pipeline, which applies only its own (\(PolicyConfiguration.pipelineKnobNames.joined(separator: ", "))): \
            tune that service through its evaluator (--evaluator URL)
            """
        }
    }

    /// Refuses a file that declares another service's knobs, for `user`, which runs the built-in pipeline.
    public func requirePipelineKnobs(for user: String) throws {
        if let serviceKnobs { throw ForeignKnobs(declared: serviceKnobs.names, user: user) }
    }

    /// The knobs the tuner chooses: those the file declared for a service of its own, else the
    /// built-in pipeline's within the action bounds.
    public func knobs() throws -> KnobDeclaration {
        if let serviceKnobs { return serviceKnobs }
        let defaults = RAGSettings()
        return try KnobDeclaration([
            Knob(name: "variant", kind: .categorical(choices: actions.variants), defaultValue: .text(defaults.variant.rawValue)),
            Knob(name: "k", kind: .integer(range: actions.topK, grid: actions.topKGrid, logNormal: actions.topKDistribution == .logNormal),
                 defaultValue: .integer(defaults.k)),
            Knob(name: "rerank", kind: .bernoulli, defaultValue: .flag(defaults.rerank)),
            Knob(name: "fusion_weight", kind: .continuous(range: actions.fusionWeight, grid: actions.fusionWeightGrid), defaultValue: .number(defaults.fusionWeight),
                 condition: .init(knob: "variant", values: Self.fusingVariants(actions.variants).map(KnobValue.text))),
            Knob(name: "template", kind: .categorical(choices: actions.templates), defaultValue: .text(defaults.template.rawValue)),
        ])
    }

    /// Those of `variants` under which the pipeline applies a fusion weight.
    static func fusingVariants(_ variants: [String]) -> [String] {
        variants.filter { RAGSettings.Variant(rawValue: $0)?.usesFusionWeight == true }
    }

    /// The action bounds of a declaration of the built-in pipeline's five knobs, checked against
    /// what the pipeline applies (its variants and templates, its defaults, fusion only where it fuses).
    static func pipelineBounds(_ declaration: KnobDeclaration, items: [YAMLFields], variants: [String], templates: [String]) throws -> ActionBounds {
        func item(_ name: String) -> YAMLFields { items[declaration.names.firstIndex(of: name)!] }
        guard declaration.names == pipelineKnobNames else {
            throw ConfigurationError(file: items[0].file, field: "knobs",
                                     reason: "declares the built-in pipeline's knobs as [\(declaration.names.joined(separator: ", "))]; it applies exactly [\(pipelineKnobNames.joined(separator: ", "))], in that order")
        }
        let defaults = RAGSettings()
        var bounds = ActionBounds(variants: variants, templates: templates)
        for knob in declaration.knobs {
            let at = item(knob.name)
            switch (knob.name, knob.kind) {
            case let ("variant", .categorical(choices)), let ("template", .categorical(choices)):
                let known = knob.name == "variant" ? variants : templates
                if let unknown = choices.first(where: { !known.contains($0) }) {
                    throw at.refusal("choices", "has '\(unknown)', which the built-in pipeline does not have (it has: \(known.joined(separator: ", ")))")
                }
                if knob.name == "variant" { bounds.variants = choices } else { bounds.templates = choices }
            case let ("k", .integer(range, grid, logNormal)):
                guard range.lowerBound >= 1 else { throw at.refusal("min", "is \(range.lowerBound); the pipeline retrieves at least 1 passage") }
                bounds.topK = range
                bounds.topKGrid = grid
                bounds.topKDistribution = logNormal ? .logNormal : .softmax
            case ("rerank", .bernoulli): break
            case let ("fusion_weight", .continuous(range, grid)):
                guard range.lowerBound >= 0, range.upperBound <= 1 else { throw at.refusal("max", "bounds \(range) must lie in [0, 1]: it is a weight") }
                let fusing = Self.fusingVariants(bounds.variants)
                guard let condition = knob.condition, condition.knob == "variant", Set(condition.values) == Set(fusing.map(KnobValue.text)) else {
                    throw at.refusal("when", "must be {knob: variant, values: [\(fusing.joined(separator: ", "))]}: the pipeline fuses only there")
                }
                bounds.fusionWeight = range
                bounds.fusionWeightGrid = grid
            default:
                throw at.refusal("kind", "is \(knob.kind) for the built-in knob '\(knob.name)'")
            }
            let builtIn: KnobValue = switch knob.name {
            case "variant": .text(defaults.variant.rawValue)
            case "k": .integer(defaults.k)
            case "rerank": .flag(defaults.rerank)
            case "fusion_weight": .number(defaults.fusionWeight)
            default: .text(defaults.template.rawValue)
            }
            guard knob.defaultValue == builtIn else { throw at.refusal("default", "is \(knob.defaultValue); the built-in pipeline runs \(builtIn) without the tuner") }
        }
        return bounds
    }
}
