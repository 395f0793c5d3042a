import Dispatch
import Foundation
import Synchronization
import Testing
import TunerPolicy

@Suite struct ConcurrencyTests {
    /// Eight threads deciding at once over the same contexts give one thread's answers.
    @Test func eightThreadsGiveTheSingleThreadAnswers() throws {
        let policy = try PolicyFixture.policy(seed: 41)
        let contexts = PolicyFixture.contexts(2000)
        let single = contexts.enumerated().map { i, c in
            [policy.decide(c), policy.decide(c, mode: .sampled(seed: UInt64(i)))]
        }
        let results = Mutex<[[[Decision]]]>(Array(repeating: [], count: 8))
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            // Each thread walks the contexts from a different start so calls really overlap.
            var answers = [[Decision]](repeating: [], count: contexts.count)
            for step in 0..<contexts.count {
                let i = (step + thread * 250) % contexts.count
                answers[i] = [policy.decide(contexts[i]), policy.decide(contexts[i], mode: .sampled(seed: UInt64(i)))]
            }
            results.withLock { $0[thread] = answers }
        }
        for answers in results.withLock({ $0 }) { #expect(answers == single) }
    }

    /// Requests in flight during reloads get either the old or the new policy's answer, whole;
    /// a damaged checkpoint leaves the serving policy in place.
    @Test func hotReloadSwapsAtomically() throws {
        let a = try PolicyFixture.policy(seed: 51)
        let b = try PolicyFixture.policy(seed: 52)
        let contexts = PolicyFixture.contexts(500)
        let answers = [a.version: contexts.map { a.decide($0) }, b.version: contexts.map { b.decide($0) }]
        #expect(answers[a.version] != answers[b.version])
        let handle = PolicyHandle(a)
        let stop = Atomic(false)
        let mismatches = Atomic(0)
        let decided = Atomic(0)
        let served = Mutex<Set<String>>([])
        let group = DispatchGroup()
        for worker in 0..<4 {
            DispatchQueue.global().async(group: group) {
                var i = worker
                var seen = Set<String>()
                while !stop.load(ordering: .relaxed) {
                    let d = handle.decide(contexts[i % contexts.count])
                    if answers[d.policyVersion]?[i % contexts.count] != d { mismatches.add(1, ordering: .relaxed) }
                    seen.insert(d.policyVersion)
                    decided.add(1, ordering: .relaxed)
                    i += 7
                }
                served.withLock { $0.formUnion(seen) }
            }
        }
        // Swap until the workers have decided plenty while swaps were going on.
        var swaps = 0
        while swaps < 2000 || decided.load(ordering: .relaxed) < 20_000 {
            handle.replace(with: swaps % 2 == 0 ? b : a)
            swaps += 1
        }
        stop.store(true, ordering: .relaxed)
        group.wait()
        #expect(mismatches.load(ordering: .relaxed) == 0)
        #expect(served.withLock { $0 } == [a.version, b.version])

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("reload-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let good = folder.appendingPathComponent("b.ckpt")
        try PolicyFixture.checkpoint(seed: 52).write(to: good)
        handle.replace(with: a)
        try handle.reload(contentsOf: good)
        #expect(handle.current.version == b.version)
        let broken = folder.appendingPathComponent("broken.ckpt")
        try Data("not a checkpoint".utf8).write(to: broken)
        #expect(throws: (any Error).self) { try handle.reload(contentsOf: broken) }
        #expect(handle.current.version == b.version)
    }
}
