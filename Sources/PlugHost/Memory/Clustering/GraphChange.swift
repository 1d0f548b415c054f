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
        var appeared: [GraphChange] = []
        var edges: [GraphChange] = []
        var disappeared: [GraphChange] = []
        for (i, d) in batch.concepts.enumerated() {
            let after = result.conceptCounts[i]
            let before = after - d.delta
            if before <= 0 && after > 0 { appeared.append(.conceptAppeared(d.concept)) }
            if before > 0 && after <= 0 { disappeared.append(.conceptDisappeared(d.concept)) }
        }
        for (i, e) in batch.edges.enumerated() {
            let after = result.edgeCounts[i]
            let existsAfter = after.co >= theta || after.dep >= 1
            let existedBefore = after.co - e.co >= theta || after.dep - e.dep >= 1
            if existsAfter && !existedBefore { edges.append(.edgeAppeared(e.a, e.b)) }
            if !existsAfter && existedBefore { edges.append(.edgeDisappeared(e.a, e.b)) }
        }
        return appeared + edges + disappeared
    }
}
