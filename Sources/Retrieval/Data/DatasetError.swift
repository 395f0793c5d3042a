/// Why a dataset folder could not be loaded; each case names the file and, where there is one,
/// the line.
public enum DatasetError: Error, CustomStringConvertible, Equatable {
    case missingFile(String)
    case malformedLine(file: String, line: Int, reason: String)
    case unknownSplit(String, available: [String])
    case embeddings(file: String, reason: String)
    case manifest(file: String, reason: String)

    public var description: String {
        switch self {
        case .missingFile(let path): "missing file: \(path)"
        case .malformedLine(let file, let line, let reason): "\(file):\(line): \(reason)"
        case .unknownSplit(let split, let available):
            "no qrels for split '\(split)' (available: \(available.joined(separator: ", ")))"
        case .embeddings(let file, let reason): "\(file): \(reason)"
        case .manifest(let file, let reason): "\(file): \(reason)"
        }
    }
}
