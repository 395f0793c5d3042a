/// A document (index into the corpus) with a retrieval score; higher is better.
public struct ScoredDocument: Sendable, Equatable {
    public var document: Int32
    public var score: Float

    public init(document: Int32, score: Float) {
        self.document = document
        self.score = score
    }

    /// Ranking order: higher score first, ties to the lower document index so results are
    /// deterministic.
    @inline(__always)
    public static func ranksBefore(_ a: ScoredDocument, _ b: ScoredDocument) -> Bool {
        a.score > b.score || (a.score == b.score && a.document < b.document)
    }
}

/// Exact top-k selection with a bounded min-heap: O(n log k), the result sorted best first.
public enum TopK {
    public static func select(_ scores: UnsafeBufferPointer<Float>, k: Int) -> [ScoredDocument] {
        var heap = BoundedHeap(capacity: min(k, scores.count))
        for i in 0..<scores.count { heap.offer(ScoredDocument(document: Int32(i), score: scores[i])) }
        return heap.sortedBestFirst()
    }

    public static func select(_ candidates: [ScoredDocument], k: Int) -> [ScoredDocument] {
        var heap = BoundedHeap(capacity: min(k, candidates.count))
        for c in candidates { heap.offer(c) }
        return heap.sortedBestFirst()
    }
}

/// Keeps the `capacity` best documents seen; the root is the worst of them.
struct BoundedHeap {
    private(set) var items: [ScoredDocument] = []
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        items.reserveCapacity(capacity)
    }

    mutating func offer(_ candidate: ScoredDocument) {
        guard capacity > 0 else { return }
        if items.count < capacity {
            items.append(candidate)
            siftUp(items.count - 1)
        } else if ScoredDocument.ranksBefore(candidate, items[0]) {
            items[0] = candidate
            siftDown(0)
        }
    }

    func sortedBestFirst() -> [ScoredDocument] { items.sorted(by: ScoredDocument.ranksBefore) }

    /// In this min-heap the parent ranks after (is worse than) its children.
    private mutating func siftUp(_ index: Int) {
        var child = index
        while child > 0 {
            let parent = (child - 1) / 2
            guard ScoredDocument.ranksBefore(items[parent], items[child]) else { return }
            items.swapAt(parent, child)
            child = parent
        }
    }

    private mutating func siftDown(_ index: Int) {
        var parent = index
        while true {
            let left = 2 * parent + 1
            guard left < items.count else { return }
            var worst = left
            let right = left + 1
            if right < items.count && ScoredDocument.ranksBefore(items[left], items[right]) { worst = right }
            guard ScoredDocument.ranksBefore(items[parent], items[worst]) else { return }
            items.swapAt(parent, worst)
            parent = worst
        }
    }
}
