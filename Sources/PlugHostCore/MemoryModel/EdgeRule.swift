/// The memory model's one rule for when two concepts of a goal are linked: an edge `a–b`
/// exists when `co(a,b) ≥ θ` (live memories holding both) or `dep(a,b) ≥ 1` (live memories
/// declaring a dependency between them). The clustering layer, the exports and the CLI ask this
/// rule; engines do not decide edges (PostgreSQL's clustering read only bounds the rows it
/// fetches by it). The test oracle keeps an independent copy on purpose: it checks this one.
public enum EdgeRule {
    /// True when counts `co` and `dep` link their two concepts under threshold `θ`.
    @inlinable @inline(__always)
    public static func isEdge(co: Int32, dep: Int32, threshold theta: Int32) -> Bool {
        co >= theta || dep >= 1
    }

    /// The weight of edge `a–b` in the clustering graph (model 2): `co + dep` when the counts
    /// make an edge, 0 when they do not.
    @inlinable @inline(__always)
    public static func weight(co: Int32, dep: Int32, threshold theta: Int32) -> Int64 {
        isEdge(co: co, dep: dep, threshold: theta) ? Int64(co) + Int64(dep) : 0
    }
}
