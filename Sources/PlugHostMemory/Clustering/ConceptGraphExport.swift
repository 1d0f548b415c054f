import PlugHostCore
/// The concept graph of a goal as Graphviz DOT: clusters as `subgraph cluster_N`, edges that
/// exist under θ with their counts as labels.
public enum ConceptGraphExport {
    /// DOT text for `goal`.
    public static func dot(memory: MemoryService, goal: String) throws -> String {
        let snapshot = try memory.engine.conceptGraph(goal: goal)
        let clusters = try memory.clusters(goal: goal).first?.clusters ?? []
        func q(_ s: String) -> String {
            "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        var out = "graph \(q(goal)) {\n  node [shape=box, style=rounded];\n"
        for (i, c) in clusters.enumerated() {
            out += "  subgraph cluster_\(i) {\n    label=\(q(c.id));\n"
            for concept in c.concepts { out += "    \(q(concept));\n" }
            out += "  }\n"
        }
        let theta = memory.configuration.theta
        for e in snapshot.edges.sorted(by: { ($0.a, $0.b) < ($1.a, $1.b) })
        where EdgeRule.isEdge(co: e.counts.co, dep: e.counts.dep, threshold: theta) {
            let label = e.counts.dep > 0 ? "co=\(e.counts.co) dep=\(e.counts.dep)" : "co=\(e.counts.co)"
            out += "  \(q(e.a)) -- \(q(e.b)) [label=\(q(label))\(e.counts.dep > 0 ? ", style=bold" : "")];\n"
        }
        return out + "}"
    }
}
