/// Float buffers on cache-line boundaries for the numeric kernels: their 32-byte vector loads
/// and stores then never straddle two lines, which cost the 16-byte aligned buffers that
/// `allocate(capacity:)` gives about 7% of an MLP training step at batch 2048.
enum AlignedStorage {
    static let alignment = 64

    /// `count` zeroed floats; release with `deallocate()` on the returned buffer.
    static func zeroed(_ count: Int) -> UnsafeMutableBufferPointer<Float> {
        let allocated = max(count, 1)  // a pointer even for an empty buffer
        let raw = UnsafeMutableRawPointer.allocate(byteCount: allocated * MemoryLayout<Float>.stride, alignment: alignment)
        let floats = raw.initializeMemory(as: Float.self, repeating: 0, count: allocated)
        return UnsafeMutableBufferPointer(start: floats, count: count)
    }

    /// Runs `body` on `count` uninitialised scratch floats, aligned, released afterwards.
    static func withScratch<R>(_ count: Int, _ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        let allocated = max(count, 1)
        return try withUnsafeTemporaryAllocation(byteCount: allocated * MemoryLayout<Float>.stride, alignment: alignment) { raw in
            try body(raw.baseAddress!.bindMemory(to: Float.self, capacity: allocated))
        }
    }
}
