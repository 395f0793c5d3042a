import Foundation

/// A versioned, checksummed binary file of named tensors plus JSON metadata: the one container
/// every checkpoint of the project is written in.
///
/// Layout (little-endian):
///
///     magic "RAGTUNER" (8 bytes) | format version UInt32 | header length UInt32
///     header (JSON: kind, kind version, metadata, tensor table)
///     payload: each Float tensor, then each UInt64 tensor, in table order
///     CRC-32 of every byte before it (UInt32)
///
/// `kind` and `kindVersion` belong to the caller (a policy checkpoint, a trainer state…) so a
/// reader refuses a file of another kind or schema with a message that says which.
public struct TensorArchive: Sendable, Equatable {
    public static let magic = Array("RAGTUNER".utf8)
    public static let formatVersion: UInt32 = 1

    public var kind: String
    public var kindVersion: Int
    /// Caller-defined JSON (a `Codable` value encoded by the caller).
    public var metadata: Data
    public var floats: [String: [Float]]
    public var words: [String: [UInt64]]

    public init(kind: String, kindVersion: Int, metadata: Data = Data("{}".utf8),
                floats: [String: [Float]] = [:], words: [String: [UInt64]] = [:]) {
        self.kind = kind
        self.kindVersion = kindVersion
        self.metadata = metadata
        self.floats = floats
        self.words = words
    }

    public enum ReadError: Error, CustomStringConvertible, Equatable {
        case unreadable(path: String, reason: String)
        case truncated(path: String)
        case notAnArchive(path: String)
        case unsupportedFormat(path: String, found: UInt32, supported: UInt32)
        case checksumMismatch(path: String, stored: UInt32, computed: UInt32)
        case malformedHeader(path: String, reason: String)
        case wrongKind(path: String, found: String, foundVersion: Int, expected: String, expectedVersion: Int)
        case missingTensor(path: String, name: String)

        public var description: String {
            switch self {
            case let .unreadable(path, reason):
                "\(path): cannot be read: \(reason)"
            case let .truncated(path):
                "\(path): file is truncated (shorter than its header says)"
            case let .notAnArchive(path):
                "\(path): not a RAG Tuner checkpoint (bad magic bytes)"
            case let .unsupportedFormat(path, found, supported):
                "\(path): archive format version \(found), this build reads version \(supported)"
            case let .checksumMismatch(path, stored, computed):
                "\(path): checksum mismatch (stored \(hex(stored)), computed \(hex(computed))): the file is corrupted"
            case let .malformedHeader(path, reason):
                "\(path): malformed header: \(reason)"
            case let .wrongKind(path, found, foundVersion, expected, expectedVersion):
                "\(path): holds a \(found) v\(foundVersion), expected a \(expected) v\(expectedVersion)"
            case let .missingTensor(path, name):
                "\(path): tensor '\(name)' is missing"
            }
        }

        private func hex(_ value: UInt32) -> String { "0x" + String(value, radix: 16) }
    }

    private struct Header: Codable {
        struct Entry: Codable {
            var name: String
            var type: String  // "f32" or "u64"
            var count: Int
        }
        var kind: String
        var kindVersion: Int
        var metadata: String
        var tensors: [Entry]
    }

    /// The archive's bytes, checksum included.
    public func encoded() throws -> Data {
        let floatNames = floats.keys.sorted()
        let wordNames = words.keys.sorted()
        let header = Header(
            kind: kind, kindVersion: kindVersion, metadata: String(decoding: metadata, as: UTF8.self),
            tensors: floatNames.map { .init(name: $0, type: "f32", count: floats[$0]!.count) }
                + wordNames.map { .init(name: $0, type: "u64", count: words[$0]!.count) })
        let headerBytes = try JSONEncoder.sorted.encode(header)
        var data = Data(Self.magic)
        data.appendLittleEndian(Self.formatVersion)
        data.appendLittleEndian(UInt32(headerBytes.count))
        data.append(headerBytes)
        for name in floatNames {
            for value in floats[name]! { data.appendLittleEndian(value.bitPattern) }
        }
        for name in wordNames {
            for value in words[name]! { data.appendLittleEndian(value) }
        }
        data.appendLittleEndian(CRC32.checksum(data))
        return data
    }

    /// Parses and verifies `data`; `path` only labels errors.
    public init(decoding data: Data, path: String = "<memory>") throws {
        let bytes = [UInt8](data)
        guard bytes.count >= Self.magic.count + 12 else {
            throw bytes.starts(with: Self.magic) ? ReadError.truncated(path: path) : ReadError.notAnArchive(path: path)
        }
        guard bytes.starts(with: Self.magic) else { throw ReadError.notAnArchive(path: path) }
        var reader = ByteReader(bytes: bytes, position: Self.magic.count)
        let format = reader.uint32()
        guard format == Self.formatVersion else {
            throw ReadError.unsupportedFormat(path: path, found: format, supported: Self.formatVersion)
        }
        let stored = bytes.suffix(4).enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
        let computed = CRC32.checksum(bytes.dropLast(4))
        guard stored == computed else { throw ReadError.checksumMismatch(path: path, stored: stored, computed: computed) }
        let headerLength = Int(reader.uint32())
        guard reader.position + headerLength <= bytes.count - 4 else { throw ReadError.truncated(path: path) }
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: Data(bytes[reader.position ..< reader.position + headerLength]))
        } catch {
            throw ReadError.malformedHeader(path: path, reason: "\(error)")
        }
        reader.position += headerLength
        var floats: [String: [Float]] = [:]
        var words: [String: [UInt64]] = [:]
        for entry in header.tensors {
            let width = entry.type == "f32" ? 4 : 8
            guard entry.type == "f32" || entry.type == "u64" else {
                throw ReadError.malformedHeader(path: path, reason: "tensor '\(entry.name)' has unknown type '\(entry.type)'")
            }
            // Compared by division: a header may claim a count whose byte size overflows.
            guard entry.count >= 0, entry.count <= (bytes.count - 4 - reader.position) / width else {
                throw ReadError.truncated(path: path)
            }
            if entry.type == "f32" {
                floats[entry.name] = (0..<entry.count).map { _ in Float(bitPattern: reader.uint32()) }
            } else {
                words[entry.name] = (0..<entry.count).map { _ in reader.uint64() }
            }
        }
        guard reader.position == bytes.count - 4 else {
            throw ReadError.malformedHeader(path: path, reason: "\(bytes.count - 4 - reader.position) bytes after the last tensor")
        }
        self.init(kind: header.kind, kindVersion: header.kindVersion, metadata: Data(header.metadata.utf8),
                  floats: floats, words: words)
    }

    /// Writes the archive atomically (temporary file, fsync, rename).
    public func write(to url: URL) throws {
        try AtomicFile.write(encoded(), to: url)
    }

    /// Reads and verifies an archive, and checks that it is of the expected kind and version.
    public static func read(from url: URL, expecting kind: String, version: Int) throws -> TensorArchive {
        try TensorArchive(decoding: bytes(at: url), path: url.path).expecting(kind, version: version, path: url.path)
    }

    /// The bytes of the file at `url`; a file that cannot be read is an error naming it and why.
    public static func bytes(at url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url)
        } catch let error as CocoaError where error.code == .fileReadNoSuchFile {
            throw ReadError.unreadable(path: url.path, reason: "no such file")
        } catch {
            throw ReadError.unreadable(path: url.path, reason: (error as NSError).localizedFailureReason ?? error.localizedDescription)
        }
    }

    /// This archive, if it is of the expected kind and version.
    public func expecting(_ kind: String, version: Int, path: String = "<archive>") throws -> TensorArchive {
        guard self.kind == kind, kindVersion == version else {
            throw ReadError.wrongKind(path: path, found: self.kind, foundVersion: kindVersion, expected: kind, expectedVersion: version)
        }
        return self
    }

    /// The caller's metadata decoded as `type`; `what` names it in the error.
    public func decodedMetadata<T: Decodable>(_ type: T.Type, what: String, path: String = "<archive>") throws -> T {
        do {
            return try JSONDecoder().decode(type, from: metadata)
        } catch {
            throw ReadError.malformedHeader(path: path, reason: "\(what): \(error)")
        }
    }

    /// The Float tensor `name`, or an error naming it.
    public func floats(_ name: String, path: String = "<archive>") throws -> [Float] {
        guard let values = floats[name] else { throw ReadError.missingTensor(path: path, name: name) }
        return values
    }
}

private struct ByteReader {
    let bytes: [UInt8]
    var position: Int

    mutating func uint32() -> UInt32 {
        var value: UInt32 = 0
        for i in 0..<4 { value |= UInt32(bytes[position + i]) << (8 * UInt32(i)) }
        position += 4
        return value
    }

    mutating func uint64() -> UInt64 {
        var value: UInt64 = 0
        for i in 0..<8 { value |= UInt64(bytes[position + i]) << (8 * UInt64(i)) }
        position += 8
        return value
    }
}

extension Data {
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}
