import ArgumentParser

@main
struct Tuner: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tuner",
        abstract: "A reinforcement-learning auto-tuner for retrieval-augmented generation services.",
        version: TunerVersion.current,
        subcommands: [Train.self, Runs.self, Report.self, Ablate.self, Evaluate.self, Serve.self, Shadow.self, Canary.self, GrafanaDashboardCommand.self, Loadgen.self, RSICommand.self, Audit.self, OPE.self, Power.self, Bench.self, Version.self]
    )
}
