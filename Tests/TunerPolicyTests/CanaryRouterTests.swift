import Testing
import TunerPolicy

@Suite struct CanaryRouterTests {
    let baseline: PolicyHandle
    let candidate: PolicyHandle

    init() throws {
        baseline = PolicyHandle(try PolicyFixture.policy(seed: 61))
        candidate = PolicyHandle(try PolicyFixture.policy(seed: 62))
    }

    @Test func aKeyStaysOnItsArmAcrossCallsAndRouters() throws {
        let router = try CanaryRouter(baseline: baseline, candidate: candidate, percentage: 30)
        let again = try CanaryRouter(baseline: baseline, candidate: candidate, percentage: 30)
        for i in 0..<1000 {
            let key = "user-\(i)"
            let arm = router.split.arm(for: key)
            #expect(router.split.arm(for: key) == arm && again.split.arm(for: key) == arm)
        }
        // Pinned so that a change of hash (which would reshuffle every live canary) is noticed.
        #expect(router.split.bucket(for: "user-1") == Int(StableHashProbe.bucket("user-1", salt: "canary")))
    }

    @Test func theShareOfKeysFollowsThePercentage() throws {
        let router = try CanaryRouter(baseline: baseline, candidate: candidate, percentage: 5)
        let keys = (0..<100_000).map { "session-\($0)" }
        for percentage in [0.0, 5, 25, 50, 100] {
            try router.split.setPercentage(percentage)
            let share = Double(keys.filter { router.split.arm(for: $0) == .candidate }.count) / Double(keys.count)
            let p = percentage / 100
            let sigma = (p * (1 - p) / Double(keys.count)).squareRoot()
            #expect(abs(share - p) <= 4 * sigma + 1e-12, "percentage \(percentage): share \(share)")
        }
    }

    @Test func raisingThePercentageOnlyMovesUsersToTheCandidate() throws {
        let router = try CanaryRouter(baseline: baseline, candidate: candidate, percentage: 5)
        let keys = (0..<20_000).map { "u\($0)" }
        var previous = keys.map { router.split.arm(for: $0) }
        for percentage in [25.0, 50, 100] {
            try router.split.setPercentage(percentage)
            let now = keys.map { router.split.arm(for: $0) }
            #expect(zip(previous, now).allSatisfy { $0 == .baseline || $1 == .candidate })
            previous = now
        }
        #expect(throws: TrafficSplit.PercentageError.self) { try router.split.setPercentage(101) }
        #expect(throws: TrafficSplit.PercentageError.self) { try router.split.setPercentage(.nan) }
        #expect(router.split.percentage == 100)
    }

    @Test func eachArmDecidesWithItsOwnPolicy() throws {
        let router = try CanaryRouter(baseline: baseline, candidate: candidate, percentage: 50)
        let context = PolicyFixture.contexts(1)[0]
        var arms = Set<TrafficSplit.Arm>()
        for i in 0..<200 {
            let routed = router.decide(key: "k\(i)", context: context)
            let expected = routed.arm == .candidate ? candidate.current : baseline.current
            #expect(routed.decision == expected.decide(context) && routed.policy === expected)
            arms.insert(routed.arm)
        }
        #expect(arms == [.baseline, .candidate])
    }

    @Test func saltsSplitIndependently() throws {
        let a = try CanaryRouter(baseline: baseline, candidate: candidate, percentage: 50, salt: "experiment-a")
        let b = try CanaryRouter(baseline: baseline, candidate: candidate, percentage: 50, salt: "experiment-b")
        let keys = (0..<20_000).map { "u\($0)" }
        let both = keys.filter { a.split.arm(for: $0) == .candidate && b.split.arm(for: $0) == .candidate }.count
        #expect(abs(Double(both) / Double(keys.count) - 0.25) < 0.02)
    }
}

/// FNV-1a 64 of the salt, then of the key seeded with it, finalised with SplitMix64 — written
/// out here independently of `StableHash` to pin the routing function.
enum StableHashProbe {
    static func fnv(_ s: String, seed: UInt64) -> UInt64 {
        var h: UInt64 = 0xcbf29ce484222325 ^ seed
        for byte in s.utf8 { h = (h ^ UInt64(byte)) &* 0x100000001b3 }
        var z = h
        z = (z ^ (z >> 30)) &* 0xbf58476d1ce4e5b9
        z = (z ^ (z >> 27)) &* 0x94d049bb133111eb
        return z ^ (z >> 31)
    }

    static func bucket(_ key: String, salt: String) -> UInt64 { fnv(key, seed: fnv(salt, seed: 0)) % 10_000 }
}
