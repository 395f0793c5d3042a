/// A 64-bit hash that is the same in every process, on every machine and in every release
/// (Swift's `Hasher` is seeded per process): FNV-1a over the bytes, then SplitMix64's finaliser
/// so that short keys differing in one byte spread over all 64 bits.
public enum StableHash {
    public static func hash<S: Sequence>(_ bytes: S, seed: UInt64 = 0) -> UInt64 where S.Element == UInt8 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ seed
        for byte in bytes {
            h ^= UInt64(byte)
            h &*= 0x0000_0100_0000_01b3
        }
        return mix(h)
    }

    public static func hash(_ string: String, seed: UInt64 = 0) -> UInt64 { hash(string.utf8, seed: seed) }

    /// The hash as 16 hex digits: a content id (a policy's version, a configuration version).
    public static func hexDigest<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        let hex = String(hash(bytes), radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
