import Evaluators
import Foundation
import NumericCore
import Pipeline
import Retrieval
import Scoring
import TunerPolicy
import Tuning

// libFuzzer entry points over every parser a user feeds the tuner. One binary, the parser chosen
// by FUZZ_TARGET; Benchmarks/Fuzz/run.sh builds it with `--sanitize fuzzer` and runs each target.
// An input a parser refuses with an error is fine; a crash, a trap or a hang is a finding. Where
// a loader accepts an input, the harness goes on as the tuner would (a policy configuration
// becomes a network that decides, a checkpoint decides), since "nothing that passes validation
// may reach a precondition" is the property under test.

enum Target: String, CaseIterable {
    case policyYAML = "policy-yaml", manifest, corpus, queries, requestLog = "request-log", decisionLog = "decision-log"
    case archive, checkpoint, evaluateRequest = "evaluate-request"
}

let target: Target = {
    let name = ProcessInfo.processInfo.environment["FUZZ_TARGET"] ?? ""
    guard let target = Target(rawValue: name) else {
        fatalError("set FUZZ_TARGET to one of \(Target.allCases.map(\.rawValue).joined(separator: ", ")); got '\(name)'")
    }
    return target
}()

/// A folder of this process's own, where each input is written for the loaders that read files.
let scratch: URL = {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ragtuner-fuzz-\(getpid())")
    try! FileManager.default.createDirectory(at: folder.appendingPathComponent("qrels"), withIntermediateDirectories: true)
    // A tiny dataset for the corpus and queries targets: the fuzzed file replaces one of these.
    let files = [
        "corpus.jsonl": #"{"_id": "d1", "title": "Reset", "text": "Hold the button for ten seconds."}"# + "\n"
            + #"{"_id": "d2", "title": "Warranty", "text": "Two years on parts."}"# + "\n",
        "queries.jsonl": #"{"_id": "q1", "text": "how do I reset it", "metadata": {"category": "howto"}}"# + "\n"
            + #"{"_id": "q2", "text": "how long is the warranty"}"# + "\n",
        "qrels/train.tsv": "query-id\tcorpus-id\tscore\nq1\td1\t1\n",
        "qrels/test.tsv": "query-id\tcorpus-id\tscore\nq2\td2\t1\n",
    ]
    for (name, text) in files { try! Data(text.utf8).write(to: folder.appendingPathComponent(name)) }
    return folder
}()

/// The tiny dataset, whose two questions a request log's lines are matched against.
let tiny: Dataset = try! DatasetLoader(folder: scratch, loadsEmbeddings: false).load()

/// The demo dataset's evaluator, for the evaluator request body.
let demo: LocalEvaluator = {
    BLAS.setThreads(1)
    let folder = URL(fileURLWithPath: ProcessInfo.processInfo.environment["FUZZ_DATASET"] ?? "datasets/demo")
    let setup = try! EvaluationSetup.load(datasetFolder: folder, policyFile: nil, pipelineFile: nil)
    return try! LocalEvaluator(setup: setup, system: RetrievalSystem(dataset: setup.dataset, costModel: setup.costModel))
}()

/// A decision must be settings the policy's layout allows, with a log-probability (a density
/// for the fusion weight, so the probability itself may pass 1), whatever passed validation.
func check(_ decision: Decision, _ layout: RAGActionLayout) {
    let s = decision.settings
    guard decision.logProbability.isFinite, layout.kRange.contains(s.k), layout.variants.contains(s.variant),
          layout.templates.contains(s.template), layout.fusionRange.contains(s.fusionWeight)
    else { fatalError("a validated policy decided \(s) with log-probability \(decision.logProbability)") }
}

func decideOnce(_ policy: RAGPolicy) {
    let category = policy.features.categories.first ?? "unknown"
    check(policy.decide(PolicyContext(category: category, faithfulness: 0.8, relevancy: 0.7, latencyP50Milliseconds: 300,
                                      latencyP95Milliseconds: 700, costUSD: 0.001, corpusDocuments: 1000)), policy.layout)
}

func fuzz(_ data: Data) throws {
    switch target {
    case .policyYAML:
        let file = scratch.appendingPathComponent("policy.yaml")
        try data.write(to: file)
        let configuration = try PolicyConfiguration.load(from: file, variants: EvaluationSetup.variantNames, templates: EvaluationSetup.templateNames)
        let layout = RAGActionLayout(configuration.actions)
        let features = ContextFeatures(categories: ["a", "b"], latencyScaleMilliseconds: configuration.reward.latencyTargetMilliseconds,
                                       costScaleUSD: configuration.reward.costReferenceUSD)
        let network = PolicyNetwork(architecture: PolicyArchitecture(observationSize: features.count(for: layout), actionSpace: layout.actionSpace,
                                                                     hiddenSizes: [4]))
        var rng = RandomGenerator(seed: 1)
        try network.initialize(using: &rng)
        let checkpoint = PolicyCheckpoint(network: network, normalizer: RunningNormalizer(size: network.architecture.observationSize), features: features)
        decideOnce(try RAGPolicy(checkpoint: checkpoint, version: "fuzz"))
    case .manifest:
        let file = scratch.appendingPathComponent("manifest.yaml")
        try data.write(to: file)
        _ = try DatasetManifest.load(from: file)
    case .corpus, .queries:
        let name = target == .corpus ? "corpus.jsonl" : "queries.jsonl"
        let original = try Data(contentsOf: scratch.appendingPathComponent(name))
        try data.write(to: scratch.appendingPathComponent(name))
        defer { try? original.write(to: scratch.appendingPathComponent(name)) }
        _ = try DatasetLoader(folder: scratch, loadsEmbeddings: false).load()
    case .requestLog:
        let file = scratch.appendingPathComponent("requests.jsonl")
        try data.write(to: file)
        _ = try RequestLog.read(file, dataset: tiny, judged: Set(tiny.queries.indices), maxBadLineFraction: 1)
    case .decisionLog:
        let file = scratch.appendingPathComponent("decisions.jsonl")
        try data.write(to: file)
        _ = try DecisionLog.read(file, maxBadLineFraction: 1)
    case .archive, .checkpoint:
        // The checksum is set right, so mutations reach the header and tensor parsing behind it
        // (a wrong checksum is refused first, as unit tests check).
        var bytes = data
        if bytes.count >= 4 {
            bytes.removeLast(4)
            var crc = CRC32.checksum(bytes)
            withUnsafeBytes(of: &crc) { bytes.append(contentsOf: $0) }
        }
        if target == .archive {
            _ = try TensorArchive(decoding: bytes, path: "<fuzz>")
        } else {
            decideOnce(try RAGPolicy(bytes: bytes, path: "<fuzz>"))
        }
    case .evaluateRequest:
        let request = try JSONDecoder().decode(EvaluatorProtocol.Request.self, from: data)
        _ = try demo.evaluate(request)
    }
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    _ = target
    if target == .requestLog { _ = tiny }
    if target == .evaluateRequest { _ = demo }
    // Seeds that only code can make: a small valid checkpoint (and so a valid archive) and the
    // decision log a service writes with it.
    if let folder = ProcessInfo.processInfo.environment["FUZZ_WRITE_SEEDS"].map(URL.init(fileURLWithPath:)) {
        let features = ContextFeatures(categories: ["howto", "warranty"], latencyScaleMilliseconds: 500, costScaleUSD: 0.002)
        let layout = RAGActionLayout(PolicyConfiguration.ActionBounds(variants: EvaluationSetup.variantNames, templates: EvaluationSetup.templateNames))
        let network = PolicyNetwork(architecture: PolicyArchitecture(observationSize: features.count(for: layout), actionSpace: layout.actionSpace,
                                                                     hiddenSizes: [4]))
        var rng = RandomGenerator(seed: 1)
        try! network.initialize(using: &rng)
        let checkpoint = PolicyCheckpoint(network: network, normalizer: RunningNormalizer(size: network.architecture.observationSize), features: features)
        for name in ["checkpoint", "decision-log"] {
            try! FileManager.default.createDirectory(at: folder.appendingPathComponent(name), withIntermediateDirectories: true)
        }
        try! checkpoint.write(to: folder.appendingPathComponent("checkpoint/small.ckpt"))
        let policy = try! RAGPolicy(checkpoint: checkpoint, version: "seed")
        let log = try! DecisionLogWriter(url: folder.appendingPathComponent("decision-log/decisions.jsonl"))
        for (i, category) in ["howto", "warranty", "other"].enumerated() {
            let context = PolicyContext(category: category, faithfulness: 0.8, relevancy: 0.7, latencyP50Milliseconds: 300,
                                        latencyP95Milliseconds: 700, costUSD: 0.001, corpusDocuments: 1000)
            try! log.append(policy.decide(context, mode: .sampled(seed: UInt64(i))), requestID: "r\(i)", context: context, policy: policy, question: "question \(i)")
            try! log.append(outcome: DecisionOutcome(latencyMilliseconds: 250, costUSD: 0.001, faithfulness: 0.9, relevancy: 0.8, error: false),
                            requestID: "r\(i)")
        }
        exit(0)
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    do {
        try fuzz(Data(bytes: data, count: size))
    } catch {}
    return 0
}
