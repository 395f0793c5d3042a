import Foundation
import Testing
@testable import NumericCore

@Suite struct TensorArchiveTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("archive-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func sample() -> TensorArchive {
        TensorArchive(kind: "mlp-parameters", kindVersion: 3, metadata: Data(#"{"sizes":[2,3]}"#.utf8),
                      floats: ["values": [1.5, -0.0, .greatestFiniteMagnitude, 1e-30], "empty": []],
                      words: ["rng": [1, .max, 42]])
    }

    @Test func crc32CheckValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
    }

    @Test func roundTripThroughAnAtomicWrite() throws {
        let url = directory.appendingPathComponent("model.ckpt")
        try sample().write(to: url)
        let loaded = try TensorArchive.read(from: url, expecting: "mlp-parameters", version: 3)
        #expect(loaded == sample())
        #expect(loaded.floats["values"]![1].sign == .minus)
        // Only the target is left in the directory: the temporary file was renamed over it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["model.ckpt"])
        // Overwriting replaces the old contents whole.
        var changed = sample()
        changed.floats["values"] = [7]
        try changed.write(to: url)
        #expect(try TensorArchive.read(from: url, expecting: "mlp-parameters", version: 3).floats["values"] == [7])
    }

    @Test func everyCorruptedByteIsRefused() throws {
        let bytes = try sample().encoded()
        for position in stride(from: 0, to: bytes.count, by: 7) {
            var corrupted = bytes
            corrupted[position] ^= 0x10
            #expect(throws: TensorArchive.ReadError.self) { try TensorArchive(decoding: corrupted, path: "x.ckpt") }
        }
        var corrupted = bytes
        corrupted[bytes.count - 10] ^= 1
        do {
            _ = try TensorArchive(decoding: corrupted, path: "x.ckpt")
            Issue.record("a corrupted payload was accepted")
        } catch let error as TensorArchive.ReadError {
            guard case .checksumMismatch = error else { Issue.record("unexpected \(error)"); return }
            #expect(error.description.contains("x.ckpt") && error.description.contains("corrupted"))
        }
    }

    @Test func wrongKindTruncationAndForeignFilesHaveClearErrors() throws {
        let url = directory.appendingPathComponent("other.ckpt")
        try sample().write(to: url)
        #expect(throws: TensorArchive.ReadError.wrongKind(path: url.path, found: "mlp-parameters", foundVersion: 3,
                                                          expected: "policy", expectedVersion: 1)) {
            try TensorArchive.read(from: url, expecting: "policy", version: 1)
        }
        let bytes = try sample().encoded()
        #expect(throws: TensorArchive.ReadError.self) { try TensorArchive(decoding: bytes.prefix(30)) }
        #expect(throws: TensorArchive.ReadError.notAnArchive(path: "a.txt")) {
            try TensorArchive(decoding: Data("hello, world, not a checkpoint".utf8), path: "a.txt")
        }
    }

    @Test func mlpParametersSurviveSaveAndLoad() throws {
        var rng = RandomGenerator(seed: 1)
        let mlp = MLP(spec: MLPSpec(sizes: [3, 4, 2]))
        try mlp.initialize(hiddenGain: 1.4, outputGain: 0.01, using: &rng)
        let url = directory.appendingPathComponent("mlp.ckpt")
        try TensorArchive(kind: "mlp", kindVersion: 1, floats: ["parameters": mlp.arena.valueArray]).write(to: url)
        let restored = MLP(spec: mlp.spec)
        restored.arena.load(values: try TensorArchive.read(from: url, expecting: "mlp", version: 1).floats("parameters"))
        let x = Matrix([[0.1, -0.2, 0.3]])
        #expect(x.withView { mlp.forward($0).toMatrix() } == x.withView { restored.forward($0).toMatrix() })
    }

    /// A header whose tensor count would overflow its byte size is refused as truncated (it once
    /// trapped on the multiplication), even under a valid checksum.
    @Test func aHugeClaimedTensorCountIsRefused() throws {
        // magic (8) | format version (4) | header length (4) | header | tensors | CRC-32
        let bytes = [UInt8](try sample().encoded())
        let headerLength = Int(bytes[12]) | Int(bytes[13]) << 8 | Int(bytes[14]) << 16 | Int(bytes[15]) << 24
        let claimed = "\"count\":\(Int.max / 2)"
        let header = String(decoding: bytes[16 ..< 16 + headerLength], as: UTF8.self).replacingOccurrences(of: "\"count\":3", with: claimed)
        #expect(header.contains(claimed))
        func littleEndian(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(v >> (8 * $0) & 0xff) } }
        var forged = Array(bytes[0..<12]) + littleEndian(UInt32(header.utf8.count)) + Array(header.utf8) + bytes[(16 + headerLength)...].dropLast(4)
        forged += littleEndian(CRC32.checksum(forged))
        #expect(throws: TensorArchive.ReadError.truncated(path: "forged.ckpt")) { try TensorArchive(decoding: Data(forged), path: "forged.ckpt") }
    }
}
