/// The generator-token count used for context size, cost and latency: ⌈UTF-8 bytes / 4⌉, the
/// usual rule of thumb for English text under BPE tokenisers (about 4 characters per token).
/// It is an estimate, not a tokenizer, and is used the same way everywhere.
public enum TokenCount {
    @inline(__always)
    public static func of<S: StringProtocol>(_ text: S) -> Int { (text.utf8.count + 3) / 4 }
}
