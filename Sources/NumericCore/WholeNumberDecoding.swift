import Foundation

extension KeyedDecodingContainer {
    /// An integer field, with an error that names the field and the value when the number is a
    /// fraction or out of range (Foundation's decoder says only "not valid JSON" for a k of 5.5
    /// or a seed of −1, with no field: its number errors are internal and surface at the top).
    public func decodeWholeNumber<T: FixedWidthInteger & Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        do {
            return try decode(T.self, forKey: key)
        } catch let error as DecodingError {
            guard case .dataCorrupted = error else { throw error }
            throw notWhole(T.self, key)
        } catch {
            throw notWhole(T.self, key)
        }
    }

    private func notWhole<T: FixedWidthInteger>(_ type: T.Type, _ key: Key) -> DecodingError {
        let value = (try? decode(Double.self, forKey: key)).map { String(format: "%g", $0) } ?? "the value"
        let expected = T.min == 0 ? "a whole number ≥ 0" : "a whole number"
        return DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "\(value) is not \(expected) up to \(T.max)")
    }
}
