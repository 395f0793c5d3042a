import ArgumentParser
import Foundation
import Reports

extension Tuner {
    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One self-contained HTML page of one or more runs: frontiers, reward, actions, latency, verdicts.",
            discussion: """
                The runs are taken as releases in the order given: the cost–quality and latency–quality \
                scatters show the last run's grid with every run's frontier and its default, best static, \
                oracle and learned configurations; the other panels overlay the runs. The page needs no \
                network and no tuner to be read. `tuner train` writes each run's own page as OUT/<run id>/report.html.
                """)

        @Argument(help: "Run ids (or unique prefixes), oldest release first.")
        var runs: [String]

        @OptionGroup var store: Runs.StoreOption

        @Option(name: .customLong("html"), help: "Where to write the page (default: report.html in the last run's folder).")
        var html: String?

        func validate() throws {
            guard !runs.isEmpty else { throw ValidationError("name at least one run") }
        }

        func run() throws {
            let store = try store.open()
            let data = try runs.map { try RunData(run: $0, store: store) }
            let url = html.map { URL(fileURLWithPath: $0) } ?? store.runFolder(data.last!.record.id).appendingPathComponent("report.html")
            try ReportPage(runs: data).write(to: url)
            print("report: \(url.path)")
        }
    }
}
