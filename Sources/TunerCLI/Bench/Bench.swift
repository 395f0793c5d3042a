import ArgumentParser

extension Tuner {
    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the project's benchmarks.",
            subcommands: [BenchPPO.self, BenchDecide.self]
        )
    }
}
