import PlugHostCore
/// A change of a goal's concept graph that clustering must take into account.
enum GraphChange: Sendable {
    case conceptAppeared(String)
    case conceptDisappeared(String)
    /// The weight of edge a–b after the commit: `co + dep` when it is an edge (``EdgeRule``),
    /// 0 when it is not (any more).
    case edgeWeight(String, String, Int64)

    /// The changes a batch caused, from its deltas and the counts after it: concepts that
    /// appeared first, then edges whose weight changed, then concepts that disappeared (so
    /// edges always join held concepts).
    static func from(_ batch: EngineBatch, _ result: BatchResult, theta: Int32) -> [GraphChange] {
        // One array, filled in three passes (most writes change nothing: no allocation then).
        var out: [GraphChange] = []
        for (i, d) in batch.concepts.enumerated() {
            let after = result.conceptCounts[i]
            if after - d.delta <= 0 && after > 0 { out.append(.conceptAppeared(d.concept)) }
        }
        for (i, e) in batch.edges.enumerated() {
            let after = result.edgeCounts[i]
            let now = EdgeRule.weight(co: after.co, dep: after.dep, threshold: theta)
            let before = EdgeRule.weight(co: after.co - e.co, dep: after.dep - e.dep, threshold: theta)
            if now != before { out.append(.edgeWeight(e.a, e.b, now)) }
        }
        for (i, d) in batch.concepts.enumerated() {
            let after = result.conceptCounts[i]
            if after - d.delta > 0 && after <= 0 { out.append(.conceptDisappeared(d.concept)) }
        }
        return out
    }
}
