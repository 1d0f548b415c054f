import PlugHostCore
/// A change of a goal's concept graph that clustering must take into account.
enum GraphChange: Sendable {
    case conceptAppeared(String)
    case conceptDisappeared(String)
    case edgeAppeared(String, String)
    case edgeDisappeared(String, String)

    /// The changes a batch caused, from its deltas and the counts after it: concepts that
    /// appeared first, then edges, then concepts that disappeared (so edges always join held
    /// concepts).
    static func from(_ batch: EngineBatch, _ result: BatchResult, theta: Int32) -> [GraphChange] {
        // One array, filled in three passes (most writes change nothing: no allocation then).
        var out: [GraphChange] = []
        for (i, d) in batch.concepts.enumerated() {
            let after = result.conceptCounts[i]
            if after - d.delta <= 0 && after > 0 { out.append(.conceptAppeared(d.concept)) }
        }
        for (i, e) in batch.edges.enumerated() {
            let after = result.edgeCounts[i]
            let existsAfter = EdgeRule.isEdge(co: after.co, dep: after.dep, threshold: theta)
            let existedBefore = EdgeRule.isEdge(co: after.co - e.co, dep: after.dep - e.dep, threshold: theta)
            if existsAfter && !existedBefore { out.append(.edgeAppeared(e.a, e.b)) }
            if !existsAfter && existedBefore { out.append(.edgeDisappeared(e.a, e.b)) }
        }
        for (i, d) in batch.concepts.enumerated() {
            let after = result.conceptCounts[i]
            if after - d.delta > 0 && after <= 0 { out.append(.conceptDisappeared(d.concept)) }
        }
        return out
    }
}
