import ArgumentParser
import Evaluators
import Foundation
import Scoring
import TunerPolicy

/// Every command that takes a service address reads it here: an absolute http(s) URL with a host.
enum ServiceURL {
    static func parse(_ value: String, option: String) throws -> URL {
        guard let url = URL(string: value), url.scheme == "http" || url.scheme == "https", url.host?.isEmpty == false else {
            throw ValidationError("\(option) must be an http(s) URL with a host, e.g. http://127.0.0.1:8080; got '\(value)'")
        }
        return url
    }
}

/// What `tuner shadow` and `tuner canary` stand beside: production, the service that answers
/// the candidate's queries, the candidate checkpoint, and the policy configuration they judge by.
struct ServiceOptions: ParsableArguments {
    @Option(help: "Base URL of production (its POST /query is proxied).")
    var production: String

    @Option(help: "Base URL that answers the candidate's queries (default: production).")
    var candidateService: String?

    @Option(help: "The candidate policy checkpoint, or a configuration table (tuner train over a service's own knobs).")
    var candidate: String

    @OptionGroup var policy: PolicyFileOptions

    @Option(help: "Documents in production's corpus (a feature of the policies' context).")
    var corpusDocuments = 1000

    func validate() throws {
        _ = try productionURL
        _ = try candidateServiceURL
        guard corpusDocuments >= 1 else { throw ValidationError("--corpus-documents must be at least 1, got \(corpusDocuments)") }
    }

    var productionURL: URL {
        get throws { try ServiceURL.parse(production, option: "--production") }
    }

    /// The reward shadow and canary judge by: `policy`'s weights, with the gates production
    /// states in `GET /tuner/evaluator` where it has one — the thresholds training judged by —
    /// else the policy file's. Says on stderr which. A policy file whose knobs production's
    /// description contradicts is refused, as training refuses it: the policies admitted against
    /// it would choose configurations production refuses.
    func reward(_ policy: PolicyConfiguration, command: String) async throws -> RewardFunction {
        let source: String
        let description: EvaluatorProtocol.Description?
        do {
            description = try await RemoteEvaluator(baseURL: try productionURL, timeout: 10, maxAttempts: 2).describe()
            source = "production has no GET /tuner/evaluator"
        } catch {
            description = nil
            source = "production's GET /tuner/evaluator failed: \(error)"
        }
        if let description {
            if let theirs = description.knobs, let problem = try policy.knobs().problem(within: theirs) {
                throw ValidationError("--policy's knobs do not fit production's (GET /tuner/evaluator): \(problem)")
            }
            FileHandle.standardError.write(Data("tuner \(command): gates as production states them (GET /tuner/evaluator, dataset \(description.dataset))\n".utf8))
            return description.reward(policy)
        }
        FileHandle.standardError.write(Data("tuner \(command): gates from the policy file (\(source))\n".utf8))
        return RewardFunction(policy)
    }

    /// The policy or table at `path`, refused when tuned under knobs other than `knobs` (the policy file's).
    func served(_ path: String, knobs: KnobDeclaration) throws -> ServedPolicy {
        try ServedPolicy(contentsOf: URL(fileURLWithPath: path), for: knobs)
    }

    var candidateServiceURL: URL? {
        get throws { try candidateService.map { try ServiceURL.parse($0, option: "--candidate-service") } }
    }
}
