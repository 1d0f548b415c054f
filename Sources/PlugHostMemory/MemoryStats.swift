import PlugHostCore
/// Counters of the write path, readable at any time.
public struct MemoryStats: Sendable, Codable, Hashable {
    /// Context cache hits.
    public var cacheHits = 0
    /// Context cache misses (contexts loaded from the engine).
    public var cacheMisses = 0
    /// Contexts evicted because the cache was full.
    public var cacheEvictions = 0
    /// Contexts dropped because their TTL ran out.
    public var cacheExpirations = 0
    /// Memory writes acknowledged and stored (a new memory each).
    public var writes = 0
    /// Writes without a caller-given id acknowledged with the id of a live memory of the same
    /// content, storing nothing (not counted in ``writes``).
    public var deduplicated = 0
    /// Memories forgotten (by id or by TTL).
    public var forgets = 0
    /// Writes rejected as invalid.
    public var rejected = 0
    /// Engine commits (group commits).
    public var commits = 0
    /// Dependency batches sent to the engine.
    public var batches = 0
    /// Edge-count operations sent to the engine (each touched edge once per batch).
    public var edgeOps = 0
    /// Edge operations one-per-pair-per-write would have cost.
    public var edgeOpsUnbatched = 0
    /// Clustering runs.
    public var clusteringRuns = 0
    /// Clustering runs the lazy path did not make: for each of its runs, the writes and forgets
    /// it covered beyond the first (the eager path runs once per write or forget).
    public var clusteringRunsSkipped = 0
    /// Time saved on clustering against the eager path, derived from measured durations: for
    /// each lazy run, its measured duration times ``clusteringRunsSkipped`` it added (each
    /// skipped eager run valued at what this run took; an eager run re-reads and re-clusters
    /// the goal in full, so this is a lower bound). See docs/metrics.md.
    public var clusteringSavedNanos: UInt64 = 0
    /// Time saved on edge writes by batching, derived from measured durations: for each commit,
    /// its measured engine time per row it wrote (memories, concept and edge counts) times the
    /// edge operations it saved. See docs/metrics.md.
    public var edgeWriteSavedNanos: UInt64 = 0
    /// Nanoseconds spent in each layer.
    public var cacheNanos: UInt64 = 0
    /// Nanoseconds spent planning batches.
    public var batchNanos: UInt64 = 0
    /// Nanoseconds spent in the engine.
    public var engineNanos: UInt64 = 0
    /// Nanoseconds spent clustering.
    public var clusteringNanos: UInt64 = 0

    /// hits / (hits + misses), 0 when there were no lookups.
    public var cacheHitRatio: Double {
        cacheHits + cacheMisses == 0 ? 0 : Double(cacheHits) / Double(cacheHits + cacheMisses)
    }
    /// Edge operations saved against one per pair per write.
    public var edgeOpsSaved: Int { max(0, edgeOpsUnbatched - edgeOps) }
    /// Clustering runs saved against one per write or forget.
    public var clusteringRunsSaved: Int { max(0, writes + forgets - clusteringRuns) }

    /// Creates zeroed stats.
    public init() {}
}
