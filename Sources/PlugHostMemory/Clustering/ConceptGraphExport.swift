import Foundation
import PlugHostCore

/// The output formats of `memory graph`.
public enum ConceptGraphFormat: String, CaseIterable, Sendable {
    /// Graphviz DOT: clusters as labelled boxes, node size by `held`, pen width by weight, a legend.
    case dot
    /// One JSON object: `goal`, `theta`, `clusters`, `nodes`, `edges`, sorted.
    case json
}

/// Renders a ``ConceptGraphView`` as Graphviz DOT or JSON. The text depends on the view only,
/// so the same memory and filter always give the same bytes.
public enum ConceptGraphExport {
    /// The view of `goal` selected by `filter`, rendered in `format`.
    public static func render(
        memory: MemoryService, goal: String, filter: ConceptGraphFilter = .init(), format: ConceptGraphFormat
    ) throws -> String {
        let view = try ConceptGraphView.load(memory: memory, goal: goal, filter: filter)
        switch format {
        case .dot: return dot(view)
        case .json: return json(view)
        }
    }

    /// One JSON object, no white space:
    /// `{"goal":…,"theta":2,"clusters":[{"id":…,"label":…,"size":N,"concepts":[…]}],`
    /// `"nodes":[{"concept":…,"held":N,"cluster":…}],"edges":[{"a":…,"b":…,"co":N,"dep":N,"weight":N}]}`
    /// with clusters sorted by id, nodes by concept, edges by `a` then `b` (UTF-8 byte order);
    /// a cluster's `concepts` are those shown, `size` all of them.
    public static func json(_ view: ConceptGraphView) -> String {
        var out = JSONWriter()
        out.beginObject()
        out.key("goal"); out.string(view.goal)
        out.key("theta"); out.int(view.theta)
        out.key("clusters")
        out.beginArray()
        for c in view.clusters {
            out.beginObject()
            out.key("id"); out.string(c.id)
            out.key("label"); out.string(c.label)
            out.key("size"); out.int(c.size)
            out.key("concepts"); out.strings(c.shown)
            out.endObject()
        }
        out.endArray()
        out.key("nodes")
        out.beginArray()
        for n in view.nodes {
            out.beginObject()
            out.key("concept"); out.string(n.concept)
            out.key("held"); out.int(n.held)
            out.key("cluster"); out.string(n.cluster)
            out.endObject()
        }
        out.endArray()
        out.key("edges")
        out.beginArray()
        for e in view.edges {
            out.beginObject()
            out.key("a"); out.string(e.a)
            out.key("b"); out.string(e.b)
            out.key("co"); out.int(e.co)
            out.key("dep"); out.int(e.dep)
            out.key("weight"); out.int(e.weight)
            out.endObject()
        }
        out.endArray()
        out.endObject()
        return out.text
    }

    /// Above this many edges the DOT asks for a faster, rougher layout.
    static let roughLayoutEdges = 200
    /// Smallest and largest node font size (points): node size grows with `held`.
    static let fontSizes = (min: 10.0, max: 24.0)
    /// Thinnest and thickest edge pen width: it grows with the weight.
    static let penWidths = (min: 1.0, max: 6.0)

    /// Graphviz DOT. Each cluster is a `subgraph cluster_N` labelled with its most connected
    /// concept, its nodes filled with one colour of a 12-colour scheme; a node's font size grows
    /// with `held` and an edge's pen width with its weight, both on a square-root scale between
    /// the smallest and largest value shown; edges with a dependency are blue; counts are in
    /// tooltips (SVG). A legend box states the scales, θ and the filters. No edge labels, and
    /// above ``roughLayoutEdges`` edges fewer layout iterations, so that `dot` lays out a
    /// hairball of several hundred edges in about a second.
    public static func dot(_ view: ConceptGraphView) -> String {
        let held = range(view.nodes.map { Int64($0.held) })
        let weight = range(view.edges.map(\.weight))
        let heldOf = Dictionary(uniqueKeysWithValues: view.nodes.map { ($0.concept, $0.held) })
        var out = "graph \(quote(view.goal)) {\n"
        var title =
            "goal \(view.goal): \(view.nodes.count) of \(view.totalConcepts) concepts, \(view.edges.count) of \(view.totalEdges) edges"
        if !view.filter.isEmpty { title += " (\(view.filter.summary))" }
        // Many edges: ask dot for fewer crossing-minimisation and positioning iterations (a
        // 76-concept goal with 736 edges: 8 s → 1 s), a rougher layout of a graph that a filter
        // would show better anyway.
        let fast = view.edges.count > roughLayoutEdges ? ", mclimit=0.2, nslimit=1" : ""
        out += "  graph [label=\(quote(title)), labelloc=t, fontname=\"Helvetica\", fontsize=16\(fast)];\n"
        out += "  node [shape=box, style=\"rounded,filled\", colorscheme=set312, fontname=\"Helvetica\"];\n"
        out += "  edge [color=\"#777777\"];\n"
        for (i, c) in view.clusters.enumerated() {
            let count = c.shown.count == c.size ? "\(c.size) concept\(c.size == 1 ? "" : "s")" : "\(c.shown.count) of \(c.size) concepts"
            out += "  subgraph cluster_\(i) {\n"
            out += "    label=\(quote("\(c.label) (\(count))")); tooltip=\(quote("cluster \(c.id)")); style=rounded; color=\"#888888\";\n"
            out += "    node [fillcolor=\(i % 12 + 1)];\n"
            for concept in c.shown {
                let h = heldOf[concept]!
                out +=
                    "    \(quote(concept)) [fontsize=\(format(scale(Int64(h), held, fontSizes))), tooltip=\(quote("\(concept): held \(h)"))];\n"
            }
            out += "  }\n"
        }
        for e in view.edges {
            let pen = scale(e.weight, weight, penWidths)
            let tip = "\(e.a) – \(e.b): co \(e.co), dep \(e.dep), weight \(e.weight)"
            out +=
                "  \(quote(e.a)) -- \(quote(e.b)) [penwidth=\(format(pen)), tooltip=\(quote(tip))\(e.dep > 0 ? ", color=\"#1f5fbf\"" : "")];\n"
        }
        var legend = [
            "box: a cluster, named after its most connected concept",
            "node size: held, \(held.map { "\($0.lo) … \($0.hi)" } ?? "none shown")",
            "pen width: weight = co + dep, \(weight.map { "\($0.lo) … \($0.hi)" } ?? "none shown")",
            "blue edge: with a dependency (dep ≥ 1)",
            "edges: co ≥ \(view.theta) or dep ≥ 1",
        ]
        if !view.filter.isEmpty { legend.append("filters: \(view.filter.summary)") }
        // "Legend" cannot be a concept: keys are lower-cased.
        out += "  subgraph cluster_legend {\n    label=\"legend\"; style=dashed; color=\"#888888\";\n"
        out += "    Legend [shape=plaintext, style=\"\", fontsize=10, label=\(quote(legend.joined(separator: "\n"), leftAligned: true))];\n"
        out += "  }\n"
        return out + "}"
    }

    /// Smallest and largest of `values`, nil when empty.
    private static func range(_ values: [Int64]) -> (lo: Int64, hi: Int64)? {
        guard let lo = values.min(), let hi = values.max() else { return nil }
        return (lo, hi)
    }

    /// `value` on a square-root scale from `r.lo` → `to.min` to `r.hi` → `to.max` (the middle
    /// of the span when all values are equal).
    private static func scale(_ value: Int64, _ r: (lo: Int64, hi: Int64)?, _ to: (min: Double, max: Double)) -> Double {
        guard let r, r.hi > r.lo else { return (to.min + to.max) / 2 }
        return to.min + (to.max - to.min) * (Double(value - r.lo) / Double(r.hi - r.lo)).squareRoot()
    }

    private static func format(_ d: Double) -> String { String(format: "%.1f", d) }

    /// A DOT double-quoted string: `"` and `\` escaped, line breaks as `\n` (or `\l`, left-aligned
    /// lines, when `leftAligned`).
    static func quote(_ s: String, leftAligned: Bool = false) -> String {
        var out = "\""
        for ch in s.unicodeScalars {
            switch ch {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += leftAligned ? "\\l" : "\\n"
            case "\r": break
            default: out.unicodeScalars.append(ch)
            }
        }
        return out + (leftAligned ? "\\l\"" : "\"")
    }
}
