import Foundation

extension PPOConfiguration {
    /// Applies `field=value` overrides (field names as in this type, values as JSON literals:
    /// `epochs=20`, `targetKL=0.02`, `hiddenSizes=[128,128]`), so every hyperparameter can be set
    /// from the command line. `field.head=value` sets one entry of a by-head dictionary and keeps
    /// the others (`entropyCoefficientByHead.k=0.01`), where `field={…}` replaces them all. An
    /// unknown field or a value of the wrong type is an error naming it.
    public func applying(overrides: [String]) throws -> PPOConfiguration {
        guard !overrides.isEmpty else { return self }
        var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(self)) as! [String: Any]
        for override in overrides {
            guard let equals = override.firstIndex(of: "=") else {
                throw PPOError.invalidConfiguration(field: override, allowed: "written as field=value")
            }
            let target = String(override[..<equals])
            let literal = String(override[override.index(after: equals)...])
            let path = target.split(separator: ".", maxSplits: 1).map(String.init)
            let field = path[0]
            let known = Set(object.keys).union(["targetKL"])
            guard known.contains(field) else {
                throw PPOError.invalidConfiguration(field: field, allowed: "one of \(known.sorted().joined(separator: ", "))")
            }
            guard let value = try? JSONSerialization.jsonObject(with: Data(literal.utf8), options: [.fragmentsAllowed]) else {
                throw PPOError.invalidConfiguration(field: target, allowed: "a JSON value, got '\(literal)'")
            }
            if path.count == 2 {
                guard var entries = object[field] as? [String: Any] else {
                    let dictionaries = object.filter { $0.value is [String: Any] }.keys.sorted()
                    throw PPOError.invalidConfiguration(field: target, allowed: "field.head for one of \(dictionaries.joined(separator: ", "))")
                }
                entries[path[1]] = value
                object[field] = entries
            } else {
                object[field] = value
            }
        }
        do {
            let updated = try JSONDecoder().decode(PPOConfiguration.self, from: JSONSerialization.data(withJSONObject: object))
            try updated.validate()
            return updated
        } catch let error as PPOError {
            throw error
        } catch {
            throw PPOError.invalidConfiguration(field: overrides.joined(separator: " "), allowed: "values of the field's type (\(error))")
        }
    }
}
