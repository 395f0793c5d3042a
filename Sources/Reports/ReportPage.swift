import Evaluators
import Foundation
import Tracking
import TrainingRuns

/// `tuner report`: one self-contained HTML page (inline SVG and a few lines of script, nothing
/// fetched at view time) of one or more runs, the runs taken as releases in the order given:
/// the cost–quality and latency–quality frontiers over the grid with each release's frontier
/// overlaid, reward and train score by update with gate breaches marked, the learned policy's
/// action shares per category with their conditional returns, latency by update, and the
/// verdicts with their intervals.
public struct ReportPage {
    public let runs: [RunData]
    /// What each run is (an ablation's name), shown beside its id.
    public let labels: [String]

    public init(runs: [RunData], labels: [String]? = nil) {
        precondition(!runs.isEmpty, "a report needs at least one run")
        precondition(labels == nil || labels!.count == runs.count, "one label per run")
        self.runs = runs
        self.labels = labels ?? runs.map { _ in "" }
    }

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
    func colour(_ i: Int) -> String { Self.palette[i % Self.palette.count] }
    var latest: RunData { runs[runs.count - 1] }

    /// One panel: its id, title, what it shows, its body and how many data marks the body holds.
    struct Panel {
        var id: String
        var title: String
        var caption: String
        var body: String
        var marks: Int
    }

    public var html: String {
        let panels = [frontier(cost: true), frontier(cost: false), rewardPanel(), actionsPanel(), latencyPanel(), verdictPanel()]
        let runList = runs.enumerated().map { i, r in
            "<li><span class=\"swatch\" style=\"background:\(colour(i))\"></span><code>\(HTML.escape(r.record.id))</code>"
                + (labels[i].isEmpty ? "" : " <strong>\(HTML.escape(labels[i]))</strong>") + " — "
                + "\(HTML.escape(r.record.datasetID)), seed \(r.record.seed), \(HTML.escape(r.record.status.rawValue)), "
                + "created \(HTML.escape(ISO8601DateFormatter().string(from: r.record.created)))</li>"
        }.joined(separator: "\n")
        let body = panels.map { p in
            "<section class=\"panel\" id=\"\(p.id)\" data-expected-marks=\"\(p.marks)\">\n<h2>\(HTML.escape(p.title))</h2>\n"
                + "<p class=\"caption\">\(HTML.escape(p.caption))</p>\n\(p.body)\n</section>"
        }.joined(separator: "\n")
        return """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>RAG Tuner report — \(HTML.escape(runs.map(\.record.id).joined(separator: ", ")))</title>
            <style>
            body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 980px; color: #222; padding: 0 16px; }
            h1 { font-size: 22px; } h2 { font-size: 17px; margin: 0 0 4px; }
            .panel { border: 1px solid #ddd; border-radius: 6px; padding: 14px; margin: 18px 0; }
            .caption { color: #555; margin: 0 0 8px; } .empty { color: #999; font-style: italic; }
            svg { width: 100%; height: auto; display: block; } .tick { font-size: 11px; fill: #444; } .axis { font-size: 12px; fill: #222; }
            .note { font-size: 11px; fill: #555; } .label { font-size: 11px; fill: #fff; pointer-events: none; } .rowlabel { font-size: 12px; fill: #222; }
            table { border-collapse: collapse; margin: 6px 0 14px; } td, th { border-bottom: 1px solid #eee; padding: 3px 9px; text-align: right; }
            td:first-child, th:first-child { text-align: left; } .swatch { display: inline-block; width: 10px; height: 10px; margin-right: 6px; }
            .legend span { margin-right: 14px; white-space: nowrap; } .breach { color: #c00; }
            </style>
            </head>
            <body>
            <h1>RAG Tuner report</h1>
            <ul class="runs">
            \(runList)
            </ul>
            \(body)
            <script>
            \(Self.selfCheck)
            </script>
            </body>
            </html>

            """
    }

    /// Counts each panel's drawn marks against the number the data gave and checks every chart
    /// has a size: the page says "panels N/N" when all rendered, and reports any that did not.
    static let selfCheck = """
        (function () {
          var panels = document.querySelectorAll('section.panel');
          var rendered = 0;
          panels.forEach(function (panel) {
            var expected = Number(panel.dataset.expectedMarks);
            var marks = panel.querySelectorAll('.mark');
            var drawn = 0;
            marks.forEach(function (m) {
              var box = m.getBoundingClientRect();
              if (box.width > 0 || box.height > 0) { drawn += 1; }
            });
            var sized = Array.prototype.every.call(panel.querySelectorAll('svg'), function (s) { return s.getBoundingClientRect().width > 0; });
            panel.dataset.drawnMarks = String(drawn);
            if (drawn === expected && marks.length === expected && sized) {
              panel.dataset.rendered = 'ok';
              rendered += 1;
            } else {
              panel.dataset.rendered = 'failed';
              console.error('panel ' + panel.id + ': ' + drawn + ' of ' + marks.length + ' marks drawn, ' + expected + ' expected');
            }
          });
          document.body.dataset.panels = rendered + '/' + panels.length;
        })();
        """

    // MARK: Panels

    func frontier(cost: Bool) -> Panel {
        let id = cost ? "cost-quality" : "latency-quality"
        let title = cost ? "Cost–quality frontier" : "Latency–quality frontier"
        func xValue(_ p: RunData.Point) -> Double { cost ? p.costUSD : p.latencyP95Milliseconds }
        let withGrid = runs.enumerated().filter { !$0.element.grid.isEmpty }
        guard !withGrid.isEmpty else {
            return Panel(id: id, title: title, caption: "", body: "<p class=\"empty\">No grid in these runs (a run against an evaluator pays for no grid).</p>", marks: 0)
        }
        let everything = runs.flatMap { $0.grid + $0.references }
        var chart = SVGChart(
            title: title, x: .init(cost ? "cost per query (USD)" : "latency p95 (ms)", values: everything.map(xValue)),
            y: .init("quality: (faithfulness + relevancy) / 2", values: everything.map(\.quality)))
        var marks = 0
        for p in latest.grid {
            chart.point(xValue(p), p.quality, size: 2.5, colour: p.gatesPassed ? "#9ab" : "#e8b4b4",
                        tooltip: "\(p.name): quality \(Self.number(p.quality)), reward \(Self.number(p.reward))\(p.gatesPassed ? "" : ", gates breached")")
            marks += 1
        }
        for (i, run) in withGrid {
            chart.line(Self.paretoFrontier(run.grid, x: xValue).map { (xValue($0), $0.quality) }, colour: colour(i), width: 2,
                       name: "frontier of \(run.record.id)")
            marks += 1
        }
        let shapes: [String: SVGChart.Shape] = ["default_static": .square, "best_static": .diamond, "oracle": .triangle, "learned_policy": .circle]
        for (i, run) in runs.enumerated() {
            for p in run.references {
                chart.point(xValue(p), p.quality, shape: shapes[p.name] ?? .circle, size: p.name == "learned_policy" ? 6 : 5.5, colour: colour(i),
                            tooltip: "\(run.record.id) \(p.name): quality \(Self.number(p.quality)), reward \(Self.number(p.reward))", extraClass: "reference")
                marks += 1
            }
        }
        let legend = "<p class=\"legend\"><span>■ default</span><span>◆ best static</span><span>▲ oracle</span><span>● learned policy</span>"
            + "<span style=\"color:#9ab\">• grid configuration</span><span style=\"color:#d99\">• breaches a gate</span><span>— frontier</span></p>"
        let caption = "Every grid configuration of \(latest.record.id) on the test split; the line joins the configurations no other "
            + "beats on both axes (one line per run); the run's default, best static, oracle and learned policy are marked."
        return Panel(id: id, title: title, caption: caption, body: chart.svg + legend, marks: marks)
    }

    func rewardPanel() -> Panel {
        let title = "Reward by update"
        let withMetrics = runs.enumerated().filter { !$0.element.series("reward").isEmpty }
        guard !withMetrics.isEmpty else { return Panel(id: "reward", title: title, caption: "", body: "<p class=\"empty\">No updates logged.</p>", marks: 0) }
        let values = withMetrics.flatMap { $0.element.series("reward").map(\.1) + $0.element.series("train_reward").map(\.1) }
        var chart = SVGChart(title: title, x: .init("update", values: withMetrics.flatMap { $0.element.series("reward").map(\.0) }),
                             y: .init("reward per batch", values: values))
        var marks = 0
        for (i, run) in withMetrics {
            let reward = run.series("reward")
            chart.line(reward, colour: colour(i), width: 1, name: "\(run.record.id) batch reward")
            chart.line(Self.movingAverage(reward, window: 10), colour: colour(i), width: 2.5, name: "\(run.record.id) moving average (10 updates)")
            marks += 2
            let train = run.series("train_reward")
            if !train.isEmpty {
                chart.line(train, colour: colour(i), width: 1.5, dashed: true, name: "\(run.record.id) train-split score")
                marks += 1
            }
            if let kept = run.report?.policySelection, let score = train.first(where: { Int($0.0) == kept.update }) {
                chart.point(score.0, score.1, shape: .diamond, size: 6, colour: colour(i),
                            tooltip: "\(run.record.id): kept update \(kept.update), train score \(Self.number(kept.trainReward))")
                marks += 1
            }
            for (update, breaches) in run.series("train_gate_breaches") where breaches > 0 {
                chart.event(update, colour: "#c00", tooltip: "update \(Int(update)): \(Int(breaches)) categories breach their gates on train")
                marks += 1
            }
        }
        let caption = "Thin: the mean batch reward of each update's episodes; thick: its 10-update moving average; dashed: the "
            + "train-split score of the update's policy (what picks the kept update, ◆); red ticks: updates whose policy breaches a "
            + "category's gates on train."
        return Panel(id: "reward", title: title, caption: caption, body: chart.svg, marks: marks)
    }

    func latencyPanel() -> Panel {
        let title = "Latency by update, and the canary"
        let withLatency = runs.enumerated().filter { !$0.element.series("train_latency_p95_ms").isEmpty }
        var body: [String] = []
        var marks = 0
        if !withLatency.isEmpty {
            let all = withLatency.flatMap { $0.element.series("train_latency_p50_ms") + $0.element.series("train_latency_p95_ms") }
            var chart = SVGChart(title: "Latency by update", x: .init("update", values: all.map(\.0)),
                                 y: .init("latency on the train split (ms)", values: all.map(\.1)))
            for (i, run) in withLatency {
                chart.line(run.series("train_latency_p50_ms"), colour: colour(i), width: 1.5, dashed: true, name: "\(run.record.id) p50")
                chart.line(run.series("train_latency_p95_ms"), colour: colour(i), width: 2, name: "\(run.record.id) p95")
                marks += 2
            }
            body.append(chart.svg)
        }
        for run in runs where !run.canary.isEmpty {
            let (svgs, drawn) = canaryCharts(run)
            body += svgs
            marks += drawn
        }
        guard !body.isEmpty else {
            return Panel(id: "latency", title: title, caption: "", body: "<p class=\"empty\">No latency by update in these runs.</p>", marks: 0)
        }
        let caption = "p50 (dashed) and p95 latency of each update's policy on the train split. Where a canary proved the run's "
            + "policy (`tuner canary --run`), its windows: the candidate (solid) over the baseline (dashed), p95 latency and "
            + "reward per window, rollbacks in red, promotions in green."
        return Panel(id: "latency", title: title, caption: caption, body: body.joined(separator: "\n"), marks: marks)
    }

    /// A canary's windows, candidate over baseline: p95 latency and reward; its decisions marked.
    func canaryCharts(_ run: RunData) -> (svgs: [String], marks: Int) {
        let windows = run.canary
        var svgs: [String] = []
        var marks = 0
        for (label, value) in [("p95 latency (ms)", { (w: CanaryController.ArmWindow) in w.latencyP95Milliseconds }),
                               ("reward per request", { (w: CanaryController.ArmWindow) in w.reward })] {
            func series(_ arm: KeyPath<CanaryController.Evaluation, CanaryController.ArmWindow>) -> [(Double, Double)] {
                windows.compactMap { e in value(e[keyPath: arm]).map { (Double(e.window), $0) } }
            }
            let baseline = series(\.baseline), candidate = series(\.candidate)
            guard !baseline.isEmpty || !candidate.isEmpty else { continue }
            var chart = SVGChart(title: "canary \(label)", x: .init("canary window of \(run.record.id)", values: windows.map { Double($0.window) }),
                                 y: .init(label, values: (baseline + candidate).map(\.1)))
            chart.line(baseline, colour: "#555", width: 1.5, dashed: true, name: "baseline \(label)")
            chart.line(candidate, colour: "#1f77b4", width: 2, name: "candidate \(label)")
            marks += (baseline.isEmpty ? 0 : 1) + (candidate.isEmpty ? 0 : 1)
            for e in windows {
                switch e.action {
                case let .rollback(reason):
                    chart.event(Double(e.window), colour: "#c00", tooltip: "window \(e.window): rolled back — \(reason)")
                    marks += 1
                case let .promote(to):
                    chart.event(Double(e.window), colour: "#2a2", tooltip: "window \(e.window): promoted to \(to)%")
                    marks += 1
                case .hold, .complete: break
                }
            }
            svgs.append(chart.svg)
        }
        return (svgs, marks)
    }

    func actionsPanel() -> Panel {
        let title = "Actions per category"
        guard !latest.actions.isEmpty else {
            return Panel(id: "actions", title: title, caption: "", body: "<p class=\"empty\">No action shares in \(HTML.escape(latest.record.id)).</p>", marks: 0)
        }
        var svgs: [String] = []
        var marks = 0
        var categories: [String] = []
        for a in latest.actions where !categories.contains(a.category) { categories.append(a.category) }
        for category in categories {
            let rows = latest.actions.filter { $0.category == category }
            var heads: [String] = []
            for a in rows where !heads.contains(a.head) { heads.append(a.head) }
            let rowHeight = 26.0, left = 90.0, width = 720.0, right = 16.0
            let height = Double(heads.count) * rowHeight + 30
            var parts = ["<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" "
                         + "aria-label=\"actions in \(HTML.escape(category))\">",
                         "<text x=\"0\" y=\"16\" class=\"axis\">\(HTML.escape(category))</text>"]
            for (h, head) in heads.enumerated() {
                let y = 24 + Double(h) * rowHeight
                parts.append("<text x=\"\(left - 8)\" y=\"\(y + 15)\" text-anchor=\"end\" class=\"rowlabel\">\(HTML.escape(head))</text>")
                var x = left
                for (v, a) in rows.filter({ $0.head == head }).enumerated() {
                    let w = a.share * (width - left - right)
                    parts.append("<rect class=\"mark\" x=\"\(String(format: "%.1f", x))\" y=\"\(y)\" width=\"\(String(format: "%.1f", max(w, 0.5)))\" "
                                 + "height=\"\(rowHeight - 6)\" fill=\"\(colour(v))\"><title>\(HTML.escape(head)) = \(HTML.escape(a.value)): "
                                 + "\(Self.percent(a.share)) of draws, train reward \(Self.number(a.trainReward)) when taken</title></rect>")
                    if w > 70 {
                        parts.append("<text x=\"\(String(format: "%.1f", x + 4))\" y=\"\(y + 14)\" class=\"label\">\(HTML.escape(a.value)) "
                                     + "\(Self.percent(a.share)) · \(Self.number(a.trainReward))</text>")
                    }
                    x += w
                    marks += 1
                }
            }
            parts.append("</svg>")
            svgs.append(parts.joined(separator: "\n"))
        }
        let caption = "How often the learned (stochastic) policy takes each value of each head in the category's starting context, "
            + "and the category's mean train reward over the draws that took it (hover a bar for its figures)."
        return Panel(id: "actions", title: title, caption: caption, body: svgs.joined(separator: "\n"), marks: marks)
    }

    func verdictPanel() -> Panel {
        var tables: [String] = []
        var marks = 0
        for run in runs {
            guard let test = run.report?.test else {
                tables.append("<p class=\"empty\">\(HTML.escape(run.record.id)): no verdict (status \(HTML.escape(run.record.status.rawValue))).</p>")
                continue
            }
            var rows = ["<tr><th>\(HTML.escape(run.record.id))</th><th>test reward</th><th>faithfulness</th><th>relevancy</th>"
                        + "<th>p95 ms</th><th>cost USD</th><th>gates</th><th>policy's gain over it [95% CI]</th></tr>"]
            let byName = Dictionary(run.references.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            let gains: [(String, String, Double?, RunReport.Interval?)] = [
                ("learned policy", "learned_policy", test.policyReward, nil),
                ("default", "default_static", test.defaultStaticReward, test.gainVsDefault),
                ("best static", "best_static", test.bestStaticReward, test.gainVsBestStatic),
                ("oracle", "oracle", test.oracleReward, test.gainVsOracle),
            ]
            for (label, key, reward, gain) in gains {
                guard let reward else { continue }
                let p = byName[key]
                let gates = p.map { $0.gatesPassed ? "held" : "<span class=\"breach\">breached</span>" } ?? ""
                let gainText = gain.map { "\(Self.signed($0.mean)) [\(Self.signed($0.ciLow)), \(Self.signed($0.ciHigh))]" } ?? ""
                rows.append("<tr class=\"mark\"><td>\(label)</td><td>\(Self.number(reward))</td><td>\(p.map { Self.number($0.faithfulness) } ?? "")</td>"
                            + "<td>\(p.map { Self.number($0.relevancy) } ?? "")</td><td>\(p.map { Self.number($0.latencyP95Milliseconds) } ?? "")</td>"
                            + "<td>\(p.map { Self.number($0.costUSD) } ?? "")</td><td>\(gates)</td><td>\(gainText)</td></tr>")
                marks += 1
            }
            tables.append("<table>\n" + rows.joined(separator: "\n") + "\n</table>")
            var configs = ["<tr><th>category</th><th>served configuration</th><th>why</th></tr>"]
            for (category, c) in test.policyConfigs.sorted(by: { $0.key < $1.key }) {
                let evidence = test.specialisation?[category]
                let why = evidence.map { e in
                    e.reason + (e.crossFittedGain.map { " (cross-fitted gain \(Self.signed($0.mean)) [\(Self.signed($0.ciLow)), \(Self.signed($0.ciHigh))])" } ?? "")
                } ?? ""
                configs.append("<tr><td>\(HTML.escape(category))</td><td>\(HTML.escape(c.description))</td>"
                               + "<td>\(HTML.escape(why))</td></tr>")
            }
            tables.append("<table>\n" + configs.joined(separator: "\n") + "\n</table>")
            if !test.gateViolations.isEmpty {
                tables.append("<p class=\"breach\">Gates breached on test in: \(HTML.escape(test.gateViolations.joined(separator: ", ")))</p>")
            }
        }
        let caption = "The held-out split: each configuration's reward and the learned policy's paired gain over it with its 95% "
            + "bootstrap interval; the configuration each category is served and why."
        return Panel(id: "verdict", title: "Verdict", caption: caption, body: tables.joined(separator: "\n"), marks: marks)
    }

    // MARK: Figures

    /// The points no other point beats on both axes (lower x, higher quality), in x order.
    public static func paretoFrontier(_ points: [RunData.Point], x: (RunData.Point) -> Double) -> [RunData.Point] {
        let sorted = points.filter { x($0).isFinite && $0.quality.isFinite }.sorted { x($0) < x($1) || (x($0) == x($1) && $0.quality > $1.quality) }
        var frontier: [RunData.Point] = []
        for p in sorted where p.quality > (frontier.last?.quality ?? -.infinity) { frontier.append(p) }
        return frontier
    }

    /// The trailing mean over `window` points (fewer at the start).
    public static func movingAverage(_ values: [(Double, Double)], window: Int) -> [(Double, Double)] {
        var sum = 0.0
        return values.enumerated().map { i, v in
            sum += v.1
            if i >= window { sum -= values[i - window].1 }
            return (v.0, sum / Double(min(i + 1, window)))
        }
    }

    static func number(_ v: Double) -> String { v.isFinite ? String(format: "%.4g", v) : "–" }
    static func signed(_ v: Double) -> String { String(format: "%+.4f", v) }
    static func percent(_ v: Double) -> String { String(format: "%.0f%%", 100 * v) }

    /// Writes the page atomically.
    public func write(to url: URL) throws {
        try Data(html.utf8).write(to: url, options: .atomic)
    }
}

extension ReportPage {
    /// Writes the report of run `id` alone into its folder (`report.html`) and records it as the
    /// run's artifact "report"; returns where it is.
    @discardableResult
    public static func writeRunReport(_ id: String, store: RunStore) throws -> URL {
        let url = store.runFolder(id).appendingPathComponent("report.html")
        try ReportPage(runs: [RunData(run: id, store: store)]).write(to: url)
        try store.addArtifact(run: id, name: "report", file: "report.html")
        return url
    }
}
