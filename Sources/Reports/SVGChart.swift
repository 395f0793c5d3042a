import Foundation

/// A chart drawn as inline SVG: linear axes with ticks, and marks added in data coordinates.
/// Every data mark carries `class="mark"`, so the page (and its browser test) can count what
/// was drawn against the data it came from.
struct SVGChart {
    struct Axis {
        var label: String
        var lower: Double
        var upper: Double

        /// An axis over `values` with a little room on both sides; a single value gets a unit span.
        init(_ label: String, values: [Double]) {
            self.label = label
            let finite = values.filter(\.isFinite)
            var lo = finite.min() ?? 0
            var hi = finite.max() ?? 1
            if hi - lo < 1e-12 * max(1, abs(hi)) {
                lo -= 0.5 * max(abs(lo), 1e-9)
                hi += 0.5 * max(abs(hi), 1e-9)
            }
            let pad = 0.05 * (hi - lo)
            lower = lo - pad
            upper = hi + pad
        }

        /// About five round tick values inside the axis.
        var ticks: [Double] {
            let raw = (upper - lower) / 5
            let magnitude = pow(10, floor(log10(raw)))
            let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
            var tick = ceil(lower / step) * step
            var ticks: [Double] = []
            while tick <= upper + 1e-12 * step {
                ticks.append(abs(tick) < 1e-12 * step ? 0 : tick)
                tick += step
            }
            return ticks
        }
    }

    static let width = 720.0
    static let height = 360.0
    static let left = 72.0, right = 16.0, top = 16.0, bottom = 48.0

    let x: Axis
    let y: Axis
    let title: String
    private var body: [String] = []

    init(title: String, x: Axis, y: Axis) {
        self.title = title
        self.x = x
        self.y = y
    }

    func px(_ v: Double) -> Double { Self.left + (v - x.lower) / (x.upper - x.lower) * (Self.width - Self.left - Self.right) }
    func py(_ v: Double) -> Double { Self.height - Self.bottom - (v - y.lower) / (y.upper - y.lower) * (Self.height - Self.top - Self.bottom) }

    enum Shape: String { case circle, square, diamond, triangle }

    /// One data point, with a tooltip.
    mutating func point(_ vx: Double, _ vy: Double, shape: Shape = .circle, size: Double = 3, colour: String, tooltip: String, extraClass: String = "") {
        guard vx.isFinite, vy.isFinite else { return }
        let cx = px(vx), cy = py(vy)
        let attributes = "class=\"mark \(extraClass)\" fill=\"\(colour)\""
        let tip = "<title>\(HTML.escape(tooltip))</title>"
        switch shape {
        case .circle:
            body.append("<circle \(attributes) cx=\"\(f(cx))\" cy=\"\(f(cy))\" r=\"\(f(size))\">\(tip)</circle>")
        case .square:
            body.append("<rect \(attributes) x=\"\(f(cx - size))\" y=\"\(f(cy - size))\" width=\"\(f(2 * size))\" height=\"\(f(2 * size))\">\(tip)</rect>")
        case .diamond:
            let p = [(cx, cy - size), (cx + size, cy), (cx, cy + size), (cx - size, cy)]
            body.append("<polygon \(attributes) points=\"\(points(p))\">\(tip)</polygon>")
        case .triangle:
            let p = [(cx, cy - size), (cx + size, cy + size), (cx - size, cy + size)]
            body.append("<polygon \(attributes) points=\"\(points(p))\">\(tip)</polygon>")
        }
    }

    /// A line through the points in order (non-finite points are skipped), as one mark.
    mutating func line(_ values: [(Double, Double)], colour: String, width: Double = 1.5, dashed: Bool = false, name: String) {
        let p = values.filter { $0.0.isFinite && $0.1.isFinite }.map { (px($0.0), py($0.1)) }
        guard !p.isEmpty else { return }
        // A line through one point draws nothing: the point is drawn instead.
        if p.count == 1 {
            body.append("<circle class=\"mark series\" data-series=\"\(HTML.escape(name))\" data-points=\"1\" fill=\"\(colour)\" "
                        + "cx=\"\(f(p[0].0))\" cy=\"\(f(p[0].1))\" r=\"\(f(max(width, 2)))\"><title>\(HTML.escape(name))</title></circle>")
            return
        }
        let dash = dashed ? " stroke-dasharray=\"5 3\"" : ""
        body.append("<polyline class=\"mark series\" data-series=\"\(HTML.escape(name))\" data-points=\"\(p.count)\" fill=\"none\" "
                    + "stroke=\"\(colour)\" stroke-width=\"\(f(width))\"\(dash) points=\"\(points(p))\"><title>\(HTML.escape(name))</title></polyline>")
    }

    /// A short vertical tick at the foot of the plot: an event at `vx` (a gate breach).
    mutating func event(_ vx: Double, colour: String, tooltip: String) {
        let cx = px(vx)
        let base = Self.height - Self.bottom
        body.append("<line class=\"mark event\" x1=\"\(f(cx))\" x2=\"\(f(cx))\" y1=\"\(f(base))\" y2=\"\(f(base - 10))\" stroke=\"\(colour)\" "
                    + "stroke-width=\"2\"><title>\(HTML.escape(tooltip))</title></line>")
    }

    /// A horizontal reference line (a threshold), not a data mark.
    mutating func rule(y vy: Double, colour: String, label: String) {
        guard vy.isFinite, vy >= y.lower, vy <= y.upper else { return }
        let cy = py(vy)
        body.append("<line x1=\"\(f(Self.left))\" x2=\"\(f(Self.width - Self.right))\" y1=\"\(f(cy))\" y2=\"\(f(cy))\" stroke=\"\(colour)\" "
                    + "stroke-dasharray=\"2 3\"/><text x=\"\(f(Self.width - Self.right - 4))\" y=\"\(f(cy - 4))\" text-anchor=\"end\" "
                    + "class=\"note\">\(HTML.escape(label))</text>")
    }

    var svg: String {
        var parts = ["<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(Self.width)) \(Int(Self.height))\" role=\"img\" "
                     + "aria-label=\"\(HTML.escape(title))\">"]
        let plotLeft = Self.left, plotRight = Self.width - Self.right, plotTop = Self.top, plotBottom = Self.height - Self.bottom
        parts.append("<rect x=\"\(f(plotLeft))\" y=\"\(f(plotTop))\" width=\"\(f(plotRight - plotLeft))\" height=\"\(f(plotBottom - plotTop))\" "
                     + "fill=\"none\" stroke=\"#bbb\"/>")
        for t in x.ticks {
            let cx = px(t)
            parts.append("<line x1=\"\(f(cx))\" x2=\"\(f(cx))\" y1=\"\(f(plotBottom))\" y2=\"\(f(plotBottom + 4))\" stroke=\"#666\"/>"
                         + "<text x=\"\(f(cx))\" y=\"\(f(plotBottom + 17))\" text-anchor=\"middle\" class=\"tick\">\(Self.format(t))</text>")
        }
        for t in y.ticks {
            let cy = py(t)
            parts.append("<line x1=\"\(f(plotLeft - 4))\" x2=\"\(f(plotLeft))\" y1=\"\(f(cy))\" y2=\"\(f(cy))\" stroke=\"#666\"/>"
                         + "<line x1=\"\(f(plotLeft))\" x2=\"\(f(plotRight))\" y1=\"\(f(cy))\" y2=\"\(f(cy))\" stroke=\"#eee\"/>"
                         + "<text x=\"\(f(plotLeft - 7))\" y=\"\(f(cy + 4))\" text-anchor=\"end\" class=\"tick\">\(Self.format(t))</text>")
        }
        parts.append("<text x=\"\(f((plotLeft + plotRight) / 2))\" y=\"\(f(Self.height - 8))\" text-anchor=\"middle\" class=\"axis\">"
                     + "\(HTML.escape(x.label))</text>")
        parts.append("<text transform=\"translate(16 \(f((plotTop + plotBottom) / 2))) rotate(-90)\" text-anchor=\"middle\" class=\"axis\">"
                     + "\(HTML.escape(y.label))</text>")
        parts.append(contentsOf: body)
        parts.append("</svg>")
        return parts.joined(separator: "\n")
    }

    static func format(_ v: Double) -> String {
        if v == 0 { return "0" }
        return abs(v) >= 1e4 || abs(v) < 1e-3 ? String(format: "%.2g", v) : String(format: "%.4g", v)
    }

    private func f(_ v: Double) -> String { String(format: "%.1f", v) }
    private func points(_ p: [(Double, Double)]) -> String { p.map { "\(f($0.0)),\(f($0.1))" }.joined(separator: " ") }
}

enum HTML {
    /// Text and attribute values made safe for HTML and SVG.
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}
