import Foundation

extension PPOConfiguration {
    /// Applies `field=value` overrides (field names as in this type, values as JSON literals:
    /// `epochs=20`, `targetKL=0.02`, `hiddenSizes=[128,128]`), so every hyperparameter can be set
    /// from the command line. An unknown field or a value of the wrong type is an error naming it.
    public func applying(overrides: [String]) throws -> PPOConfiguration {
        guard !overrides.isEmpty else { return self }
        var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(self)) as! [String: Any]
        for override in overrides {
            guard let equals = override.firstIndex(of: "=") else {
                throw PPOError.invalidConfiguration(field: override, allowed: "written as field=value")
            }
            let field = String(override[..<equals])
            let literal = String(override[override.index(after: equals)...])
            let known = Set(object.keys).union(["targetKL"])
            guard known.contains(field) else {
                throw PPOError.invalidConfiguration(field: field, allowed: "one of \(known.sorted().joined(separator: ", "))")
            }
            guard let value = try? JSONSerialization.jsonObject(with: Data(literal.utf8), options: [.fragmentsAllowed]) else {
                throw PPOError.invalidConfiguration(field: field, allowed: "a JSON value, got '\(literal)'")
            }
            object[field] = value
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
