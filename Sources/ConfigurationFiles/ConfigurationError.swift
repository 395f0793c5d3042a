/// A configuration file that is missing, unreadable or has a field out of its allowed range;
/// the message names the file, the line where known, the field and what is allowed.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var line: Int?
    public var field: String
    public var reason: String

    public init(file: String, line: Int? = nil, field: String, reason: String) {
        self.file = file
        self.line = line
        self.field = field
        self.reason = reason
    }

    public var description: String {
        let location = line.map { "\(file):\($0)" } ?? file
        return field.isEmpty ? "\(location): \(reason)" : "\(location): field '\(field)' \(reason)"
    }
}
