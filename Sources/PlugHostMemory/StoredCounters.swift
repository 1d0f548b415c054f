/// The cumulative counters stored with a memory (the engines' `counters` table): each process
/// adds what it counted (``MemoryStats``) on flush and close, so the values add up over every
/// process and run that wrote the memory. Read ones back with ``MemoryService/storedCounters()``.
///
/// What a process killed before its flush counted is not added. Times are nanoseconds.
public enum StoredCounters {
    /// The counter names, sorted, each with its ``MemoryStats`` value.
    public static let fields: [(name: String, value: @Sendable (MemoryStats) -> Int64)] = [
        ("batches", { Int64($0.batches) }),
        ("cache_hits", { Int64($0.cacheHits) }),
        ("cache_misses", { Int64($0.cacheMisses) }),
        ("clustering_nanos", { Int64(clamping: $0.clusteringNanos) }),
        ("clustering_runs", { Int64($0.clusteringRuns) }),
        ("clustering_runs_skipped", { Int64($0.clusteringRunsSkipped) }),
        ("commits", { Int64($0.commits) }),
        ("deduplicated", { Int64($0.deduplicated) }),
        ("edge_ops", { Int64($0.edgeOps) }),
        ("edge_ops_saved", { Int64($0.edgeOpsSaved) }),
        ("edge_ops_unbatched", { Int64($0.edgeOpsUnbatched) }),
        ("engine_nanos", { Int64(clamping: $0.engineNanos) }),
        ("forgets", { Int64($0.forgets) }),
        ("rejected", { Int64($0.rejected) }),
        ("time_saved_clustering_nanos", { Int64(clamping: $0.clusteringSavedNanos) }),
        ("time_saved_edge_writes_nanos", { Int64(clamping: $0.edgeWriteSavedNanos) }),
        ("writes", { Int64($0.writes) }),
    ]

    /// The counter names, sorted.
    public static var names: [String] { fields.map(\.name) }

    /// What grew from `earlier` to `later`, by name (counters that did not grow are left out).
    public static func deltas(from earlier: MemoryStats, to later: MemoryStats) -> [String: Int64] {
        var out: [String: Int64] = [:]
        for f in fields {
            let d = f.value(later) - f.value(earlier)
            if d > 0 { out[f.name] = d }
        }
        return out
    }
}
