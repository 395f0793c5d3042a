import Foundation
import NumericCore
import Testing
import TunerPolicy

@Suite struct RAGPolicyTests {
    /// The serving path (its own row kernel, stack scratch) must give the decisions and
    /// probabilities of the training-side `Policy` (BLAS forward) on the same checkpoint, for
    /// either k head (checkpoints with a softmax k head still serve).
    @Test(arguments: RAGActionLayout.KDistribution.allCases)
    func decisionsMatchTheTrainingSidePolicy(k: RAGActionLayout.KDistribution) throws {
        let checkpoint = try PolicyFixture.checkpoint(seed: 11, k: k)
        let serving = try RAGPolicy(checkpoint: checkpoint, version: "test")
        #expect(serving.layout.kDistribution == k)
        let reference = Policy(checkpoint: checkpoint)
        var distinct = Set<RAGSettings>()
        for (i, context) in PolicyFixture.contexts(500).enumerated() {
            let x = PolicyFixture.features.features(context, layout: PolicyFixture.layout)
            let decision = serving.decide(context)
            let expected = reference.deterministicAction(x)
            #expect(decision.storedAction[0] == expected[0] && decision.storedAction[1] == expected[1])
            #expect(decision.storedAction[2] == expected[2] && decision.storedAction[4] == expected[4])
            #expect(abs(decision.storedAction[3] - expected[3]) < 1e-4)
            #expect(abs(decision.logProbability - Double(reference.logProbability(of: expected, given: x))) < 1e-3)
            distinct.insert(decision.settings)

            var rng = RandomGenerator(seed: UInt64(i))
            let sampled = serving.decide(context, mode: .sampled(seed: UInt64(i)))
            let expectedSample = reference.sampledAction(x, using: &rng)
            #expect(sampled.storedAction[0] == expectedSample[0] && sampled.storedAction[1] == expectedSample[1])
            #expect(abs(sampled.storedAction[3] - expectedSample[3]) < 1e-4)
            #expect(abs(sampled.logProbability - Double(reference.logProbability(of: expectedSample, given: x))) < 1e-3)
        }
        #expect(distinct.count > 5, "the fixture should make context-dependent decisions, got \(distinct.count)")
    }

    @Test func settingsFollowTheStoredAction() throws {
        let policy = try PolicyFixture.policy(seed: 12)
        for context in PolicyFixture.contexts(200) {
            let d = policy.decide(context, mode: .sampled(seed: 5))
            let a = d.storedAction
            #expect(d.settings.variant == PolicyFixture.layout.variants[Int(a[0])])
            #expect(d.settings.k == 3 + Int(a[1]) && (3...32).contains(d.settings.k))
            #expect(d.settings.fusionWeight == min(max(Double(a[3]), 0), 1))
            #expect(d.settings.template == PolicyFixture.layout.templates[Int(a[4])])
            #expect(d.probability > 0 && d.probability.isFinite)
        }
    }

    @Test func sampledDecisionsAreReproducibleBySeed() throws {
        let policy = try PolicyFixture.policy(seed: 13)
        let context = PolicyFixture.contexts(1)[0]
        let draws = (0..<200).map { policy.decide(context, mode: .sampled(seed: UInt64($0))) }
        #expect(draws == (0..<200).map { policy.decide(context, mode: .sampled(seed: UInt64($0))) })
        #expect(Set(draws.map(\.settings)).count > 1, "different seeds should explore")
    }

    @Test func featuresAreTheDocumentedLayout() {
        let context = PolicyContext(
            category: "overview", faithfulness: 0.8, relevancy: 0.6, latencyP50Milliseconds: 250, latencyP95Milliseconds: 2000,
            costUSD: 0.001, current: RAGSettings(variant: .rrf, k: 10, rerank: true, fusionWeight: 0.25, template: .budgeted),
            corpusDocuments: 1000)
        let x = PolicyFixture.features.features(context, layout: PolicyFixture.layout)
        let expected: [Float] = [0, 1, 0, 0.8, 0.6, 0.5, 3 /* 4 clipped */, 0.5, 0, 0, 0, 1, Float(7.0 / 29), 1, 0.25, 0.5, 0, 0, 1, 0]
        #expect(x.count == 20)
        for (a, b) in zip(x, expected) { #expect(abs(a - b) < 1e-6) }
        var unseen = context
        unseen.category = "billing"
        #expect(PolicyFixture.features.features(unseen, layout: PolicyFixture.layout).prefix(3).allSatisfy { $0 == 0 })
    }

    /// With robust scaling the five service metrics are (x − median)/spread clipped to ±3, and the
    /// corpus's age follows the corpus size (an unknown age in the middle of what training drew);
    /// a checkpoint without them (nil) builds the features above.
    @Test func robustScalingAndTheCorpusAgeAreTheDocumentedLayout() throws {
        // Medians 0.5, 0.6, 0.4, 0.8, 0.2; quartiles 0.0674 either side: spreads of 0.1 (IQR/1.349).
        let medians = [0.5, 0.6, 0.4, 0.8, 0.2]
        let samples: [[Double]] = [-2.0, -1, 0, 1, 2].map { q in medians.map { $0 + q * 0.06745 } }
        let robust = try #require(ContextFeatures.RobustScaling(samples: samples))
        for (a, b) in zip(robust.median, medians) { #expect(abs(a - b) < 1e-12) }
        #expect(robust.spread.allSatisfy { abs($0 - 0.1) < 1e-9 })
        #expect(ContextFeatures.RobustScaling(samples: Array(repeating: [1, 1, 1, 1, 1], count: 5))!.spread == Array(repeating: 0.01, count: 5))
        #expect(ContextFeatures.RobustScaling(samples: []) == nil && ContextFeatures.RobustScaling(samples: [[1, 2, .nan, 4, 5]]) == nil)

        var features = PolicyFixture.features
        features.robust = robust
        features.corpusAge = true
        let context = PolicyContext(
            category: "overview", faithfulness: 0.55, relevancy: 0.2, latencyP50Milliseconds: 200, latencyP95Milliseconds: 400,
            costUSD: 0.0004, current: RAGSettings(variant: .rrf, k: 10, rerank: true, fusionWeight: 0.25, template: .budgeted),
            corpusDocuments: 1000, corpusAgeDays: 30)
        let x = features.features(context, layout: PolicyFixture.layout)
        #expect(x.count == 21 && features.count(for: PolicyFixture.layout) == 21)
        // 0.55 → +0.5, 0.2 → −4 clipped to −3, 200/500 = 0.4 → 0, 400/500 = 0.8 → 0, 0.0004/0.002 = 0.2 → 0.
        let metrics: [Float] = [0.5, -3, 0, 0, 0]
        for (a, b) in zip(x[3..<8], metrics) { #expect(abs(a - b) < 1e-5) }
        #expect(abs(x[15] - 0.5) < 1e-6)  // log10(1000)/6
        #expect(abs(Double(x[16]) - log1p(30) / log1p(ContextFeatures.ageRangeDays)) < 1e-6)
        var unknown = context
        unknown.corpusAgeDays = nil
        #expect(features.features(unknown, layout: PolicyFixture.layout)[16] == 0.5)
        // The one-hot template still closes the vector.
        #expect(Array(x[17...]) == [0, 0, 1, 0])
    }

    @Test func versionIsAContentHash() throws {
        let a = try PolicyFixture.bytes(seed: 21)
        #expect(try RAGPolicy(bytes: a).version == RAGPolicy(bytes: PolicyFixture.bytes(seed: 21)).version)
        #expect(try RAGPolicy(bytes: a).version != RAGPolicy(bytes: PolicyFixture.bytes(seed: 22)).version)
        #expect(try RAGPolicy(bytes: a).version.count == 16)
    }

    @Test func loadsFromAFileAndRefusesDamagedOrForeignCheckpoints() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rag-policy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("policy.ckpt")
        try PolicyFixture.checkpoint(seed: 31).write(to: file)
        let loaded = try RAGPolicy(contentsOf: file)
        #expect(loaded.version == (try RAGPolicy(bytes: Data(contentsOf: file)).version))

        var damaged = try Data(contentsOf: file)
        damaged[damaged.count / 2] ^= 0x40
        #expect(throws: TensorArchive.ReadError.self) { try RAGPolicy(bytes: damaged, path: "damaged.ckpt") }

        var withoutFeatures = try PolicyFixture.checkpoint(seed: 31)
        withoutFeatures.features = nil
        let noFeatures = #expect(throws: RAGPolicy.LoadError.self) { try RAGPolicy(bytes: withoutFeatures.archive().encoded(), path: "old.ckpt") }
        #expect("\(noFeatures!)".contains("old.ckpt") && "\(noFeatures!)".contains("feature layout"))

        let cartPole = PolicyNetwork(architecture: PolicyArchitecture(observationSize: 4, actionSpace: ActionSpace([.categorical("push", choices: ["left", "right"])])))
        let foreign = PolicyCheckpoint(network: cartPole, normalizer: RunningNormalizer(size: 4), features: PolicyFixture.features)
        let error = #expect(throws: RAGPolicy.LoadError.self) { try RAGPolicy(bytes: foreign.archive().encoded(), path: "cartpole.ckpt") }
        #expect("\(error!)".contains("heads are [\"push\"]"))
    }

    /// A checksum proves the bytes are the ones written, not that they can serve: weights of NaN
    /// or of absurd size, a broken normaliser or an action space that cannot be decided with are
    /// refused at load, naming the tensor and the reason (NaN weights once crashed the first
    /// decision, and the shadow proxy with it).
    @Test func aCheckpointThatCannotServeIsRefusedAtLoad() throws {
        let good = try PolicyFixture.checkpoint(seed: 31)
        func refusal(_ damage: (inout PolicyCheckpoint) -> Void) throws -> String {
            var bad = good
            damage(&bad)
            let bytes = try bad.archive().encoded()
            do {
                _ = try RAGPolicy(bytes: bytes, path: "bad.ckpt")
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        #expect(try refusal { $0.parameters[7] = .nan }.contains("bad.ckpt: malformed header: tensor 'parameters' has nan at index 7"))
        #expect(try refusal { $0.parameters[0] = 1e30 }.contains("tensor 'parameters' has 1e+30 at index 0"))
        #expect(try refusal { $0.normalizer = RunningNormalizer(mean: [Double](repeating: .infinity, count: $0.normalizer.size),
                                                                 variance: [Double](repeating: 1, count: $0.normalizer.size), count: 1, clip: 5) }
            .contains("normaliser feature 0 has mean inf"))
        #expect(try refusal { $0.architecture.hiddenSizes = [1_000_000] }.contains("architecture: hidden sizes [1000000]"))
        // Within the bounds but far larger than the weights the file holds: refused before its arena is allocated.
        #expect(try refusal { $0.architecture.hiddenSizes = [4096, 4096, 4096] }.contains("the architecture needs at least"))
        // A decoded action space skips the initialiser's checks: a one-choice categorical is refused, not trapped on.
        let metadata = String(decoding: try good.archive().metadata, as: UTF8.self).replacingOccurrences(of: "[\"bm25\",\"dense\",\"hybrid\",\"rrf\"]", with: "[\"bm25\"]")
        var archive = try good.archive()
        archive = TensorArchive(kind: archive.kind, kindVersion: archive.kindVersion, metadata: Data(metadata.utf8), floats: archive.floats, words: archive.words)
        #expect(metadata.contains("[\"bm25\"]"))
        let error = #expect(throws: TensorArchive.ReadError.self) { try RAGPolicy(bytes: archive.encoded(), path: "one-variant.ckpt") }
        #expect("\(error!)".contains("a categorical needs 2...10000 choices, has 1"))
        // Normaliser tensors of different lengths (found by Benchmarks/Fuzz) trapped on a precondition.
        var words = try good.archive().words
        words["normalizer.variance"]!.removeLast()
        archive = try good.archive()
        archive = TensorArchive(kind: archive.kind, kindVersion: archive.kindVersion, metadata: archive.metadata, floats: archive.floats, words: words)
        let lengths = #expect(throws: TensorArchive.ReadError.self) { try RAGPolicy(bytes: archive.encoded(), path: "short.ckpt") }
        #expect("\(lengths!)".contains("'normalizer.mean' and 'normalizer.variance' hold"))
        // Robust scaling that `encode` would index past or divide by zero with is refused too.
        let robust = ContextFeatures.RobustScaling(samples: [[0, 0, 0, 0, 0], [1, 1, 1, 1, 1]])!
        #expect(try refusal { $0.features!.robust = robust }.contains("accepted"))
        var short = robust
        short.median.removeLast()
        #expect(try refusal { $0.features!.robust = short }.contains("its robust scaling has medians"))
        var flat = robust
        flat.spread[2] = 0
        #expect(try refusal { $0.features!.robust = flat }.contains("spreads > 0"))
        // A signal the service could not measure reads as the training mean: a decision, not a crash.
        var context = PolicyFixture.contexts(1)[0]
        context.latencyP95Milliseconds = .nan
        context.relevancy = .infinity
        let decision = try RAGPolicy(bytes: good.archive().encoded()).decide(context)
        #expect(decision.logProbability.isFinite)
    }

    /// A policy served on data whose categories it never saw says which (a policy trained on
    /// SciFact was served on the demo with no word about it).
    @Test func categoriesThePolicyNeverSawAreNamed() throws {
        let policy = try PolicyFixture.policy(seed: 5)
        #expect(policy.unknownCategories(["warranty", "overview", "warranty"]).isEmpty)
        #expect(policy.unknownCategories(["long", "warranty", "short", "long"]) == ["long", "short"])
    }

    /// A checkpoint's shared settings: the categories listed, and every category the policy
    /// never saw, are served the shared settings with probability 1; the others ask the network,
    /// as a checkpoint without the table does. Settings outside the bounds or a category it was
    /// not trained on are refused at load.
    @Test func sharedSettingsServeTheCategoriesWithoutEvidence() throws {
        let shared = RAGSettings(variant: .bm25, k: 7, rerank: true, fusionWeight: 0.5, template: .budgeted)
        let plain = try PolicyFixture.policy(seed: 6)
        var checkpoint = try PolicyFixture.checkpoint(seed: 6)
        checkpoint.sharedSettings = shared
        checkpoint.sharedCategories = ["warranty"]
        let fixed = try RAGPolicy(bytes: checkpoint.archive().encoded())
        #expect(fixed.checkpoint.sharedSettings == shared && fixed.checkpoint.sharedCategories == ["warranty"])
        var differed = 0
        for context in PolicyFixture.contexts(200) {
            let decision = fixed.decide(context, mode: .sampled(seed: 9))
            if ["warranty", "never_seen"].contains(context.category) {
                #expect(decision.settings == shared && decision.probability == 1)
                #expect(decision.storedAction == PolicyFixture.layout.storedAction(shared))
            } else {
                let network = plain.decide(context, mode: .sampled(seed: 9))
                #expect(decision.settings == network.settings && decision.logProbability == network.logProbability)
                if network.settings != shared { differed += 1 }
            }
        }
        #expect(differed > 50)

        checkpoint.sharedSettings = RAGSettings(k: 99)
        #expect(throws: RAGPolicy.LoadError.self) { try RAGPolicy(bytes: checkpoint.archive().encoded()) }
        checkpoint.sharedSettings = shared
        checkpoint.sharedCategories = ["long"]
        let stranger = #expect(throws: RAGPolicy.LoadError.self) { try RAGPolicy(bytes: checkpoint.archive().encoded()) }
        #expect(stranger?.description.contains("'long'") == true)
    }

    /// Settings of a category's own (a budgeted run's choice for a group of categories under other
    /// gates) take precedence over the shared ones; a category with neither asks the network; a
    /// category the policy never saw gets the shared settings. They survive the file and are
    /// checked at load like the shared ones.
    @Test func categorySettingsServeTheirCategory() throws {
        let shared = RAGSettings(variant: .bm25, k: 7, rerank: true, fusionWeight: 0.5, template: .budgeted)
        let own = RAGSettings(variant: .rrf, k: 3, rerank: false, fusionWeight: 0.75, template: .truncated)
        let plain = try PolicyFixture.policy(seed: 6)
        let categories = PolicyFixture.features.categories
        var checkpoint = try PolicyFixture.checkpoint(seed: 6)
        checkpoint.sharedSettings = shared
        checkpoint.sharedCategories = [categories[0], categories[1]]
        checkpoint.categorySettings = [categories[1]: own.configuration]
        let policy = try RAGPolicy(bytes: checkpoint.archive().encoded())
        #expect(policy.checkpoint.categorySettings == [categories[1]: own.configuration])
        var asked = 0
        for context in PolicyFixture.contexts(300) {
            let decision = policy.decide(context, mode: .sampled(seed: 4))
            switch context.category {
            case categories[0], "never_seen": #expect(decision.settings == shared && decision.probability == 1)
            case categories[1]: #expect(decision.settings == own && decision.storedAction == PolicyFixture.layout.storedAction(own))
            default:
                asked += 1
                #expect(decision.settings == plain.decide(context, mode: .sampled(seed: 4)).settings)
            }
        }
        #expect(asked > 30)

        checkpoint.categorySettings = ["long": own.configuration]
        let stranger = #expect(throws: RAGPolicy.LoadError.self) { try RAGPolicy(bytes: checkpoint.archive().encoded()) }
        #expect(stranger?.description.contains("'long'") == true)
        checkpoint.categorySettings = [categories[1]: RAGSettings(k: 99).configuration]
        #expect(throws: RAGPolicy.LoadError.self) { try RAGPolicy(bytes: checkpoint.archive().encoded()) }
    }
}
