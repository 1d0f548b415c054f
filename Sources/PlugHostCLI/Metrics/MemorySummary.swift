import Foundation
import PlugHost

/// What `plughost stats` and `/metrics` say a memory holds: per goal its live memories,
/// concepts, edges (pairs at θ or more) and clusters; the storage size; the stored counters.
struct MemorySummary {
    /// One goal's figures.
    struct Goal {
        var goal: String
        var memories: Int
        var concepts: Int
        var edges: Int
        var clusters: Int
    }

    var goals: [Goal]
    /// Bytes of the engine's storage (SQLite file + WAL, PostgreSQL tables); nil in memory.
    var storageBytes: Int64?
    /// The cumulative counters stored with the memory (``StoredCounters``).
    var counters: [String: Int64]

    /// Reads the figures of `memory` (read-only or not).
    init(_ memory: MemoryService) throws {
        let now = Date().timeIntervalSince1970
        let theta = memory.configuration.theta
        goals = try memory.engine.goals().map { g in
            let graph = try memory.engine.conceptGraph(goal: g)
            let edges = graph.edges.filter { EdgeRule.isEdge(co: $0.counts.co, dep: $0.counts.dep, threshold: theta) }.count
            return Goal(
                goal: g, memories: try memory.engine.memoryCount(goal: g, at: now), concepts: graph.concepts.count, edges: edges,
                clusters: try memory.clusters(goal: g).first?.clusters.count ?? 0)
        }
        storageBytes = try memory.engine.storageSize()
        counters = try memory.storedCounters()
    }

    /// Every stored counter name this build writes, with 0 for those not stored yet.
    var allCounters: [(name: String, value: Int64)] {
        let names = Set(StoredCounters.names).union(counters.keys).sorted()
        return names.map { ($0, counters[$0] ?? 0) }
    }
}
