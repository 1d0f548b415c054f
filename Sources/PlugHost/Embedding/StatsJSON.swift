import Foundation

/// The one JSON schema of counters, written by the C API (`plughost_stats`) and the CLI
/// (`plughost stats --json`, `run --json`, `memory replay --json`).
///
/// Names are the snake_case of the Swift property names, as the C API (embed.h) documented
/// them first: the memory object has every counter of ``MemoryStats`` (`writes`, `forgets`,
/// `rejected`, `deduplicated`, `commits`, `batches`, `cache_hits`, `cache_misses`, `cache_evictions`,
/// `cache_expirations`, `edge_ops`, `edge_ops_unbatched`, `clustering_runs`,
/// `clustering_runs_skipped`, the `*_nanos` timings and times saved) and the derived `cache_hit_ratio`, `edge_ops_saved`, `clustering_runs_saved`. The
/// engine is `engine` (its kind) and `database_path` (the SQLite file, the redacted PostgreSQL
/// URL, `null` for the in-memory engine). Keys are written in UTF-8 byte order.
package enum StatsJSON {
    /// Writes `m` as one object.
    package static func writeMemory(_ m: MemoryStats, into out: inout JSONWriter) {
        out.beginObject()
        out.key("batch_nanos"); out.int(m.batchNanos)
        out.key("batches"); out.int(m.batches)
        out.key("cache_evictions"); out.int(m.cacheEvictions)
        out.key("cache_expirations"); out.int(m.cacheExpirations)
        out.key("cache_hit_ratio"); out.double(m.cacheHitRatio)
        out.key("cache_hits"); out.int(m.cacheHits)
        out.key("cache_misses"); out.int(m.cacheMisses)
        out.key("cache_nanos"); out.int(m.cacheNanos)
        out.key("clustering_nanos"); out.int(m.clusteringNanos)
        out.key("clustering_runs"); out.int(m.clusteringRuns)
        out.key("clustering_runs_saved"); out.int(m.clusteringRunsSaved)
        out.key("clustering_runs_skipped"); out.int(m.clusteringRunsSkipped)
        out.key("clustering_saved_nanos"); out.int(m.clusteringSavedNanos)
        out.key("commits"); out.int(m.commits)
        out.key("deduplicated"); out.int(m.deduplicated)
        out.key("edge_ops"); out.int(m.edgeOps)
        out.key("edge_ops_saved"); out.int(m.edgeOpsSaved)
        out.key("edge_ops_unbatched"); out.int(m.edgeOpsUnbatched)
        out.key("edge_write_saved_nanos"); out.int(m.edgeWriteSavedNanos)
        out.key("engine_nanos"); out.int(m.engineNanos)
        out.key("forgets"); out.int(m.forgets)
        out.key("rejected"); out.int(m.rejected)
        out.key("writes"); out.int(m.writes)
        out.endObject()
    }

    /// `m` as a value for ``JSONValue/canonicalText(of:)`` (the CLI's dictionaries).
    package static func memory(_ m: MemoryStats) -> JSONValue {
        var out = JSONWriter()
        writeMemory(m, into: &out)
        return try! JSONReader.parse(out.text)
    }

    /// Writes the members `database_path` and `engine` (in that order, as sorted keys want
    /// them; the caller writes the braces and the members between and after).
    package static func writeEngine(kind: String, databasePath: String?, into out: inout JSONWriter) {
        out.key("database_path"); out.string(databasePath)
        out.key("engine"); out.string(kind)
    }

    /// The C API's stats object: `database_path`, `engine`, `failed_invocations`,
    /// `invocations`, `memory`, `plugins`.
    package static func runtime(_ s: RuntimeStats) -> String {
        var out = JSONWriter()
        out.beginObject()
        writeEngine(kind: s.engine, databasePath: s.databasePath, into: &out)
        out.key("failed_invocations"); out.int(s.failedInvocations)
        out.key("invocations"); out.int(s.invocations)
        out.key("memory"); writeMemory(s.memory, into: &out)
        out.key("plugins"); out.strings(s.plugins)
        out.endObject()
        return out.text
    }
}
