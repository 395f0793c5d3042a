import Foundation

extension JSONEncoder {
    /// An encoder with sorted keys: the same value always gives the same bytes, which checkpoint
    /// hashes and diffs rely on (unsorted key order varies from process to process).
    public static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}
