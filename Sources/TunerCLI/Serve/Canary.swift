import ArgumentParser
import Evaluators
import Foundation
import Pipeline
import Scoring
import Tracking
import TunerPolicy
import TrainingRuns
import TunerServer

extension Tuner {
    struct Canary: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Canary a candidate policy on live traffic: a sticky split in steps, burn-rate alerts, sequential promotion, immediate rollback.",
            discussion: """
                Clients call the proxy instead of production's /query (X-User-ID keeps a user on one arm). Each evaluation \
                window prints one JSON line: both arms' metrics, the candidate's burn rates, the sequential test's p-value, \
                the sample-ratio check and the decision. A gate breach or burn-rate alert rolls back at once: the candidate \
                is frozen, all traffic returns to the baseline and an incident record is written to --incidents.
                """)


        @OptionGroup var service: ServiceOptions

        @Option(help: "The baseline policy checkpoint or configuration table (what production runs now); without it the baseline arm is production choosing its own configuration.")
        var baseline: String?


        @Option(help: "Traffic steps in percent, ending at 100.")
        var steps = "5,25,100"

        @Option(help: "Requests per evaluation window.")
        var window = 100

        @Option(help: "Clean windows in a row before a promotion.")
        var cleanWindows = 2

        @Option(help: "Judged requests per arm a window needs; fewer holds the step.")
        var minimumPerArm = 10

        @Option(help: "Folder for incident records.")
        var incidents = "incidents"

        @OptionGroup var listen: ListenOptions

        @Option(help: "The training run whose policy this canary proves: each window is kept in its folder (canary.jsonl) and drawn in its report.")
        var run: String?

        @OptionGroup var store: Tuner.Runs.StoreOption

        func validate() throws {
            let values = steps.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard values.count == steps.split(separator: ",").count, !values.isEmpty, values.last == 100,
                  zip(values, values.dropFirst()).allSatisfy({ $0 < $1 }), values.allSatisfy({ $0 > 0 && $0 <= 100 })
            else { throw ValidationError("--steps must be increasing percentages ending at 100, e.g. 5,25,100; got '\(steps)'") }
            guard window >= 10 else { throw ValidationError("--window must be at least 10") }
            guard cleanWindows >= 1, minimumPerArm >= 2 else { throw ValidationError("--clean-windows ≥ 1 and --minimum-per-arm ≥ 2") }
        }

        func run() async throws {
            let configuration = try service.policy.load()
            var options = CanaryController.Options()
            options.steps = steps.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces))! }
            options.windowRequests = window
            options.cleanWindowsToPromote = cleanWindows
            options.rule.minimumPerArm = minimumPerArm
            let knobs = try configuration.knobs()
            let (baselinePolicy, candidate) = (try baseline.map { try service.served($0, knobs: knobs) }, try service.served(service.candidate, knobs: knobs))
            let controller = try CanaryController(split: TrafficSplit(percentage: 0), reward: try await service.reward(configuration, command: "canary"), options: options)
            let record = try run.map { id -> (store: RunStore, id: String) in
                let runs = try store.open()
                return (runs, try runs.run(id).id)
            }
            // The windows are written off the request that closed them, in order.
            let recorder = DispatchQueue(label: "canary-record")
            let proxy = CanaryProxy(
                production: try service.productionURL, candidateService: try service.candidateServiceURL,
                baseline: baselinePolicy, candidate: candidate, controller: controller,
                incidents: URL(fileURLWithPath: incidents), corpusDocuments: service.corpusDocuments
            ) { evaluation in
                Shadow.emit(["evaluation": Shadow.object(evaluation)])
                guard let record else { return }
                recorder.async {
                    do { try CanaryRecord.append(evaluation, run: record.id, store: record.store) } catch {
                        // The canary goes on: the record is for the report, the decisions are the proxy's.
                        Shadow.emit(["record_failed": "\(error)"])
                    }
                }
            }
            let firstStep = options.steps[0]
            let host = listen.host
            try await proxy.application(host: host, port: listen.port(default: 8082), idleTimeoutSeconds: listen.idleTimeout) { port in
                Shadow.emit(["listening": "http://\(host):\(port)", "production": service.production, "step": firstStep])
            }.runService()
        }
    }
}
