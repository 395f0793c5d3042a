import Evaluators
import Foundation
import NumericCore
import Pipeline
import Reports
import Retrieval
import Testing
import Tracking
import TrainingRuns
import TunerPolicy
import Tuning

/// The run report as a user opens it: trained runs on the demo, the page written from the store,
/// loaded in a real headless Chromium (Debian's `chromium`, which `.ci/setup` installs), where its
/// own script counts each panel's drawn marks; the counts are checked here against the data.
@Suite(.serialized) struct ReportPageTests {
    /// A tracked demo run of `steps`, judged unless stopped after `stopAfter` updates; its id.
    static func train(store: RunStore, seed: UInt64, steps: Int = 2048, stopAfter: Int? = nil) throws -> String {
        try TrainingRunTests.run(try TrainingSettings(steps: steps, seed: seed), store: store, stopAfter: stopAfter).run.record!.id
    }

    /// What Chromium made of the page: the DOM after its scripts ran, and every console message.
    static func openInChromium(_ page: URL, screenshot: URL) throws -> (dom: String, console: [String]) {
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let binary = try #require(chromium, "no chromium: `bash .ci/setup` installs Debian's chromium package")
        func run(_ arguments: [String]) throws -> (out: String, err: String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr", "--v=0"] + arguments
                + [page.absoluteString]
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("chromium-\(UUID().uuidString).out")
            let err = FileManager.default.temporaryDirectory.appendingPathComponent("chromium-\(UUID().uuidString).err")
            _ = FileManager.default.createFile(atPath: out.path, contents: nil)
            _ = FileManager.default.createFile(atPath: err.path, contents: nil)
            defer { try? FileManager.default.removeItem(at: out); try? FileManager.default.removeItem(at: err) }
            process.standardOutput = try FileHandle(forWritingTo: out)
            process.standardError = try FileHandle(forWritingTo: err)
            try process.run()
            let deadline = Date().addingTimeInterval(90)
            while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            return (String(decoding: try Data(contentsOf: out), as: UTF8.self), String(decoding: try Data(contentsOf: err), as: UTF8.self))
        }
        let dumped = try run(["--dump-dom"])
        _ = try run(["--screenshot=\(screenshot.path)", "--window-size=1000,3900"])
        let console = dumped.err.split(separator: "\n").filter { $0.contains(":CONSOLE") }.map(String.init)
        return (dumped.out, console)
    }

    /// The value of `attribute` on the panel `id` in the dumped DOM.
    static func panelAttribute(_ dom: String, _ id: String, _ attribute: String) -> String? {
        guard let start = dom.range(of: "id=\"\(id)\"") else { return nil }
        let tag = dom[start.lowerBound...].prefix { $0 != ">" }
        guard let a = tag.range(of: "\(attribute)=\"") else { return nil }
        return String(tag[a.upperBound...].prefix { $0 != "\"" })
    }

    @Test func aRunsPageRendersEveryPanelInABrowser() throws {
        let (store, folder) = TrainingRunTests.store()
        defer { try? FileManager.default.removeItem(at: folder) }
        let id = try Self.train(store: store, seed: 1)
        let page = try ReportPage.writeRunReport(id, store: store)
        #expect(try store.artifacts(run: id).contains { $0.name == "report" && store.folder.appendingPathComponent($0.path) == page })
        let html = try String(contentsOf: page, encoding: .utf8)
        // Self-contained: nothing is fetched when the page is viewed.
        #expect(!html.contains("src=") && !html.contains("href=") && !html.contains("@import"))
        #expect(html.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").range(of: "https?://", options: .regularExpression) == nil)

        let artifacts = TrainingRunTests.repository.appendingPathComponent(".build/test-artifacts")
        try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
        let screenshot = artifacts.appendingPathComponent("run-report.png")
        try? FileManager.default.removeItem(at: screenshot)
        let (dom, console) = try Self.openInChromium(page, screenshot: screenshot)
        #expect(console.isEmpty, "console: \(console)")
        #expect(dom.contains("data-panels=\"6/6\""))

        // Each panel's marks, from the data rather than from the page.
        let (setup, system) = TrainingRunTests.demo
        let grid = ConfigurationGrid.configurations(setup.policy.actions, rerankAvailable: system.reranker != nil).count
        let metrics = try store.metrics(run: id)
        let updates = Set(metrics.map(\.update)).count
        let breaches = metrics.filter { $0.name == "train_gate_breaches" && $0.value > 0 }.count
        let categories = Set(setup.dataset.splits["train"]!.queries.map { setup.dataset.queries[$0].category }).count
        let data = try RunData(run: id, store: store)
        #expect(data.grid.count == grid && data.references.map(\.name) == ["learned_policy", "default_static", "best_static", "oracle"])
        #expect(data.series("reward").count == updates && data.series("train_latency_p95_ms").count == updates)
        // Every head's shares sum to one in every category: the bars are whole.
        let heads = Dictionary(grouping: data.actions) { "\($0.category)/\($0.head)" }
        #expect(heads.count == 4 * categories)
        #expect(heads.values.allSatisfy { abs($0.reduce(0) { $0 + $1.share } - 1) < 1e-9 })
        let expected = [
            "cost-quality": grid + 1 + 4, "latency-quality": grid + 1 + 4, "reward": 4 + breaches, "actions": data.actions.count,
            "latency": 2, "verdict": 4,
        ]
        for (panel, marks) in expected {
            #expect(Self.panelAttribute(dom, panel, "data-rendered") == "ok", "\(panel)")
            #expect(Self.panelAttribute(dom, panel, "data-drawn-marks") == "\(marks)", "\(panel)")
        }
        let png = try Data(contentsOf: screenshot)
        #expect(png.count > 20_000 && png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
    }

    /// Runs given as releases: each finished run's frontier and references are drawn, a run
    /// without a verdict says so, and the page still renders whole.
    @Test func releasesOverlayTheirFrontiersAndAnUnfinishedRunSaysSo() throws {
        let (store, folder) = TrainingRunTests.store()
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = try Self.train(store: store, seed: 1)
        let second = try Self.train(store: store, seed: 2)
        let interrupted = try Self.train(store: store, seed: 3, stopAfter: 1)
        let page = ReportPage(runs: try [first, second, interrupted].map { try RunData(run: $0, store: store) })
        let html = page.html
        #expect(html.components(separatedBy: "data-series=\"frontier of ").count - 1 == 2 * 2)
        #expect(html.components(separatedBy: "class=\"mark reference\"").count - 1 == 2 * 2 * 4)
        #expect(html.contains("\(interrupted): no verdict (status interrupted)"))
        let url = folder.appendingPathComponent("releases.html")
        try page.write(to: url)
        let (dom, console) = try Self.openInChromium(url, screenshot: folder.appendingPathComponent("releases.png"))
        #expect(console.isEmpty, "console: \(console)")
        #expect(dom.contains("data-panels=\"6/6\""))
    }

    /// A canary kept with the run (`tuner canary --run`): its windows are read back as the
    /// controller decided them and drawn candidate over baseline, the rollback marked.
    @Test func aCanaryOfTheRunIsDrawnOverItsBaseline() throws {
        let (store, folder) = TrainingRunTests.store()
        defer { try? FileManager.default.removeItem(at: folder) }
        let id = try Self.train(store: store, seed: 1)
        let split = try TrafficSplit(percentage: 0)
        var options = CanaryController.Options()
        options.steps = [50, 100]
        options.windowRequests = 20
        options.rule.minimumPerArm = 2
        let controller = try CanaryController(split: split, reward: TrainingRunTests.demo.0.reward, options: options)
        var kept: [CanaryController.Evaluation] = []
        // Two clean windows at the same latency, then the candidate answers 900 ms late: rolled back.
        for i in 0..<60 {
            let arm = split.arm(for: "user-\(i)")
            let late = i >= 40 && arm == .candidate
            let observation = ShadowComparison.Observation(faithfulness: 0.9, relevancy: 0.9, latencyMilliseconds: late ? 900 : 200, costUSD: 0.0001)
            if let evaluation = controller.record(arm: arm, observation: observation) {
                try CanaryRecord.append(evaluation, run: id, store: store)
                kept.append(evaluation)
            }
        }
        #expect(kept.count == 3)
        guard case .rollback = kept.last?.action else {
            Issue.record("expected a rollback, got \(kept.map(\.action))")
            return
        }
        let data = try RunData(run: id, store: store)
        #expect(data.canary == kept)
        let html = ReportPage(runs: [data]).html
        #expect(html.contains("data-series=\"candidate p95 latency (ms)\"") && html.contains("data-series=\"baseline reward per request\""))
        #expect(html.components(separatedBy: "rolled back").count - 1 == 2)  // one mark on each canary chart
        let page = folder.appendingPathComponent("canary.html")
        try ReportPage(runs: [data]).write(to: page)
        let (dom, console) = try Self.openInChromium(page, screenshot: folder.appendingPathComponent("canary.png"))
        #expect(console.isEmpty, "console: \(console)")
        #expect(Self.panelAttribute(dom, "latency", "data-drawn-marks") == "\(2 + 2 * 2 + 2)")
        #expect(dom.contains("data-panels=\"6/6\""))

        // A damaged line is refused with its number.
        let file = store.runFolder(id).appendingPathComponent(CanaryRecord.file)
        let handle = try FileHandle(forWritingTo: file)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"window\": 4}\n".utf8))
        try handle.close()
        do { _ = try RunData(run: id, store: store); Issue.record("a damaged canary record was read") } catch {
            #expect("\(error)".contains("canary.jsonl:4:"))
        }
    }

    @Test func theFrontierKeepsOnlyUndominatedConfigurations() {
        func point(_ cost: Double, _ quality: Double) -> RunData.Point {
            RunData.Point(name: "\(cost)", faithfulness: quality, relevancy: quality, latencyP95Milliseconds: 0, costUSD: cost, reward: 0, gatesPassed: true)
        }
        let points = [point(3, 0.9), point(1, 0.5), point(2, 0.4), point(2, 0.7), point(4, 0.9), point(1, 0.6), point(5, .nan)]
        #expect(ReportPage.paretoFrontier(points, x: \.costUSD).map { [$0.costUSD, $0.quality] } == [[1, 0.6], [2, 0.7], [3, 0.9]])
        let average = ReportPage.movingAverage([(0, 1), (1, 3), (2, 5), (3, 7)], window: 2)
        #expect(average.map(\.1) == [1, 2, 4, 6])
    }

    @Test func aDamagedArtifactIsNamedWithItsLine() throws {
        let (store, folder) = TrainingRunTests.store()
        defer { try? FileManager.default.removeItem(at: folder) }
        let id = try Self.train(store: store, seed: 1)
        let grid = store.runFolder(id).appendingPathComponent("grid.csv")
        var lines = try String(contentsOf: grid, encoding: .utf8).split(separator: "\n").map(String.init)
        lines[3] = lines[3].replacingOccurrences(of: ",false", with: ",false,extra")
        try lines.joined(separator: "\n").write(to: grid, atomically: true, encoding: .utf8)
        #expect(throws: RunData.Failure.self) { try RunData(run: id, store: store) }
        do { _ = try RunData(run: id, store: store) } catch { #expect("\(error)".contains("grid.csv:4:")) }
    }
}
