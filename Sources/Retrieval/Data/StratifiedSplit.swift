import NumericCore

/// A seeded train/test split that keeps each category's share: within every category the items
/// are shuffled and the first ⌊fraction·n⌉ go to train.
public enum StratifiedSplit {
    public static func split(
        _ items: [Int], categories: [String], trainFraction: Double, seed: UInt64
    ) -> (train: [Int], test: [Int]) {
        precondition(items.count == categories.count)
        var byCategory: [String: [Int]] = [:]
        for (item, category) in zip(items, categories) { byCategory[category, default: []].append(item) }
        var rng = RandomGenerator(seed: seed)
        var train: [Int] = []
        var test: [Int] = []
        for category in byCategory.keys.sorted() {
            var members = byCategory[category]!
            rng.shuffle(&members)
            let cut = Int((trainFraction * Double(members.count)).rounded())
            train += members[..<cut]
            test += members[cut...]
        }
        return (train.sorted(), test.sorted())
    }
}
