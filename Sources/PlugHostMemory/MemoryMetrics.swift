import CoreMetrics

/// The write path's metrics through swift-metrics (a no-op until a program bootstraps a
/// backend). The handles are made once per ``MemoryService``; the stages add to them where they
/// add to ``MemoryStats``, once per commit or clustering run (a cache lookup adds one
/// increment). Names, types and meanings: docs/metrics.md.
final class MemoryMetrics: Sendable {
    /// Metric names.
    enum Name {
        static let writes = "plughost_memory_writes_total"
        static let forgets = "plughost_memory_forgets_total"
        static let deduplicated = "plughost_memory_deduplicated_total"
        static let rejected = "plughost_memory_rejected_total"
        static let commits = "plughost_memory_commits_total"
        static let commitOperations = "plughost_memory_commit_operations"
        static let commitDuration = "plughost_memory_commit_duration_seconds"
        static let batches = "plughost_memory_batches_total"
        static let edgeOps = "plughost_memory_edge_ops_total"
        static let edgeOpsSaved = "plughost_memory_edge_ops_saved_total"
        static let cacheHits = "plughost_memory_cache_hits_total"
        static let cacheMisses = "plughost_memory_cache_misses_total"
        static let clusteringRuns = "plughost_memory_clustering_runs_total"
        static let clusteringDuration = "plughost_memory_clustering_duration_seconds"
        static let clusteringsSaved = "plughost_memory_clusterings_saved_total"
        static let timeSaved = "plughost_memory_time_saved_seconds_total"
    }

    let writes = Counter(label: Name.writes)
    let forgets = Counter(label: Name.forgets)
    let deduplicated = Counter(label: Name.deduplicated)
    let rejected = Counter(label: Name.rejected)
    let commits = Counter(label: Name.commits)
    /// Operations (writes and forgets) per commit: the group-commit batch size.
    let commitOperations = Recorder(label: Name.commitOperations, aggregate: true)
    /// The engine's time applying one commit.
    let commitDuration = Timer(label: Name.commitDuration)
    let batches = Counter(label: Name.batches)
    let edgeOps = Counter(label: Name.edgeOps)
    let edgeOpsSaved = Counter(label: Name.edgeOpsSaved)
    let cacheHits = Counter(label: Name.cacheHits)
    let cacheMisses = Counter(label: Name.cacheMisses)
    let clusteringRuns = Counter(label: Name.clusteringRuns)
    let clusteringDuration = Timer(label: Name.clusteringDuration)
    let clusteringsSaved = Counter(label: Name.clusteringsSaved)
    let clusteringTimeSaved = FloatingPointCounter(label: Name.timeSaved, dimensions: [("component", "clustering")])
    let edgeWriteTimeSaved = FloatingPointCounter(label: Name.timeSaved, dimensions: [("component", "edge_writes")])

    init() {}

    /// One engine commit of `writes` writes and `forgets` forgets in `engineNanos`, with its
    /// dependency batches and edge operations (done and saved against one per pair per write).
    func commit(
        writes: Int, forgets: Int, batches: Int, edgeOps: Int, edgeOpsSaved: Int, engineNanos: UInt64, edgeWriteSavedNanos: UInt64
    ) {
        commits.increment()
        if writes > 0 { self.writes.increment(by: writes) }
        if forgets > 0 { self.forgets.increment(by: forgets) }
        commitOperations.record(writes + forgets)
        commitDuration.recordNanoseconds(Int64(clamping: engineNanos))
        self.batches.increment(by: batches)
        if edgeOps > 0 { self.edgeOps.increment(by: edgeOps) }
        if edgeOpsSaved > 0 {
            self.edgeOpsSaved.increment(by: edgeOpsSaved)
            edgeWriteTimeSaved.increment(by: Double(edgeWriteSavedNanos) / 1e9)
        }
    }

    /// One clustering run of `nanos` that covered `saved` writes or forgets beyond its first.
    func clusteringRun(nanos: UInt64, saved: Int, savedNanos: UInt64) {
        clusteringRuns.increment()
        clusteringDuration.recordNanoseconds(Int64(clamping: nanos))
        if saved > 0 {
            clusteringsSaved.increment(by: saved)
            clusteringTimeSaved.increment(by: Double(savedNanos) / 1e9)
        }
    }
}
