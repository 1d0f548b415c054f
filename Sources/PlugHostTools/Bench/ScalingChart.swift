import Foundation
import PlugHost
import PlugHostPostgres

/// A log-log SVG line chart: per-write cost against workload size, one line per series.
package enum ScalingChart {
    /// One line of the chart.
    package struct Series: Sendable {
        package var name: String
        package var color: String
        /// (workload size, µs per write) points.
        package var points: [(x: Double, y: Double)]
        package init(name: String, color: String, points: [(x: Double, y: Double)]) {
            self.name = name
            self.color = color
            self.points = points
        }
    }

    /// The SVG text.
    package static func svg(title: String, xLabel: String, yLabel: String, series: [Series]) -> String {
        let width = 760.0, height = 480.0
        let left = 80.0, right = 30.0, top = 50.0, bottom = 70.0
        let all = series.flatMap(\.points).filter { $0.x > 0 && $0.y > 0 }
        guard !all.isEmpty else { return "<svg xmlns=\"http://www.w3.org/2000/svg\"/>" }
        let x0 = floor(log10(all.map(\.x).min()!)), x1 = ceil(log10(all.map(\.x).max()!))
        let y0 = floor(log10(all.map(\.y).min()!)), y1 = max(y0 + 1, ceil(log10(all.map(\.y).max()!)))
        func px(_ x: Double) -> Double { left + (log10(x) - x0) / max(1e-9, x1 - x0) * (width - left - right) }
        func py(_ y: Double) -> Double { height - bottom - (log10(y) - y0) / max(1e-9, y1 - y0) * (height - top - bottom) }
        func esc(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(
                of: ">", with: "&gt;")
        }
        func label(_ e: Double) -> String {
            let v = pow(10, e)
            if v >= 1e6 { return "\(Int(v / 1e6))M" }
            if v >= 1e3 { return "\(Int(v / 1e3))k" }
            if v >= 1 { return "\(Int(v))" }
            return String(format: "%g", v)
        }
        var s = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="Helvetica, Arial, sans-serif" font-size="13">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(width / 2)" y="28" text-anchor="middle" font-size="16" font-weight="bold">\(esc(title))</text>

            """
        // Grid and ticks: decades with 2 and 5 minor lines.
        for e in stride(from: x0, through: x1, by: 1) {
            for m in [1.0, 2, 5] where e + log10(m) <= x1 {
                let x = px(m * pow(10, e))
                s += "<line x1=\"\(x)\" y1=\"\(top)\" x2=\"\(x)\" y2=\"\(height - bottom)\" stroke=\"\(m == 1 ? "#ccc" : "#eee")\"/>\n"
            }
            s += "<text x=\"\(px(pow(10, e)))\" y=\"\(height - bottom + 20)\" text-anchor=\"middle\">\(label(e))</text>\n"
        }
        for e in stride(from: y0, through: y1, by: 1) {
            for m in [1.0, 2, 5] where e + log10(m) <= y1 {
                let y = py(m * pow(10, e))
                s += "<line x1=\"\(left)\" y1=\"\(y)\" x2=\"\(width - right)\" y2=\"\(y)\" stroke=\"\(m == 1 ? "#ccc" : "#eee")\"/>\n"
            }
            s += "<text x=\"\(left - 8)\" y=\"\(py(pow(10, e)) + 4)\" text-anchor=\"end\">\(label(e))</text>\n"
        }
        s +=
            "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(width - left - right)\" height=\"\(height - top - bottom)\" fill=\"none\" stroke=\"#333\"/>\n"
        s += "<text x=\"\(left + (width - left - right) / 2)\" y=\"\(height - 25)\" text-anchor=\"middle\">\(esc(xLabel))</text>\n"
        s +=
            "<text x=\"20\" y=\"\(top + (height - top - bottom) / 2)\" text-anchor=\"middle\" transform=\"rotate(-90 20 \(top + (height - top - bottom) / 2))\">\(esc(yLabel))</text>\n"
        for (i, line) in series.enumerated() {
            let pts = line.points.filter { $0.x > 0 && $0.y > 0 }.sorted { $0.x < $1.x }
            guard !pts.isEmpty else { continue }
            s +=
                "<polyline fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"2.5\" points=\"\(pts.map { "\(px($0.x)),\(py($0.y))" }.joined(separator: " "))\"/>\n"
            for p in pts {
                s +=
                    "<circle cx=\"\(px(p.x))\" cy=\"\(py(p.y))\" r=\"4\" fill=\"\(line.color)\"><title>\(esc(line.name)): \(Int(p.x)) writes, \(String(format: "%.2f", p.y)) µs/write</title></circle>\n"
            }
            let ly = top + 18 + Double(i) * 20
            s +=
                "<line x1=\"\(width - right - 190)\" y1=\"\(ly - 4)\" x2=\"\(width - right - 165)\" y2=\"\(ly - 4)\" stroke=\"\(line.color)\" stroke-width=\"2.5\"/>\n"
            s += "<text x=\"\(width - right - 158)\" y=\"\(ly)\">\(esc(line.name))</text>\n"
        }
        return s + "</svg>\n"
    }
}
