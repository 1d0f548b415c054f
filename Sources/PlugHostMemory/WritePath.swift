import Foundation
import Synchronization
import PlugHostCore

/// The stages of the memory write path behind ``MemoryService``, chosen once when the service
/// is opened: ``OptimizedWritePath`` (context cache → dependency batcher with group commit →
/// engine → lazy clustering) or ``EagerWritePath`` (the baseline: a fresh context, one commit
/// and a full re-clustering per write). Both give the same clusters after a flush.
///
/// The service does what both paths share (normalising, the sweep, reads); a path does the
/// context stage of a write before it is queued, owns the queue and its committer, and keeps
/// the clusters.
protocol WritePath: Sendable {
    /// The group-commit queue, committing through the path's ``BatchCommitter``.
    var queue: GroupCommitQueue { get }
    /// The context stage for a write about to be queued (one reading of the clock, `now`).
    /// Returns the cache's handle, to note the write on once acknowledged, when there is one.
    func prepare(_ key: ContextCache.Key, now: Double) throws -> ContextCache.Handle?
    /// The context stage for one write of a many-writes submission.
    func prepare(_ key: ContextCache.Key) throws
    /// Notes an acknowledged write of a single-write submission.
    func noteWritten(_ handle: ContextCache.Handle?, id: String)
    /// Notes an acknowledged write of a many-writes submission.
    func noteWritten(_ key: ContextCache.Key, id: String)
    /// A plugin's whole context for a goal.
    func context(_ key: ContextCache.Key) throws -> PluginContext
    /// At open: finishes the clustering work the engine recorded as pending for `goal`.
    func finishPending(goal: String) throws
    /// Runs all pending clustering (the expired memories are swept by the caller first).
    func flush() throws
    /// Runs `goal`'s pending clustering, if any (this process's or another's), and waits for a
    /// run of it under way: afterwards the goal's stored clusters cover every acknowledged write.
    func flush(goal: String) throws
    /// Adds the counters the path's stages keep themselves (cache, lazy clustering) to `stats`.
    func addCounters(to stats: inout MemoryStats)
    /// Clustering runs that are due by time (driven by hand in tests with a manual clock).
    func clusteringTick()
    /// Goals with clustering work pending.
    var goalsWithPendingClustering: Int { get }
}

/// Reads a (goal, plugin) context from the engine: its values and its working set.
struct ContextLoader: Sendable {
    let engine: any MemoryEngine
    let workingSetSize: Int

    func load(_ key: ContextCache.Key) throws -> PluginContext {
        let values = try engine.loadContext(goal: key.goal, plugin: key.plugin)
        let recent = try engine.memories(goal: key.goal, plugin: key.plugin, limit: workingSetSize)
        return PluginContext(values: values, recent: recent.reversed().map(\.id))
    }
}

/// The optimized write path: context cache, dependency batching with group commit
/// (``OptimizedCommitter``), lazy clustering (``LazyClusteringManager``). Over a
/// ``SharedMemoryEngine`` cached contexts are checked against the stored context version.
final class OptimizedWritePath: WritePath {
    let queue: GroupCommitQueue
    private let cache: ContextCache
    private let loader: ContextLoader
    private let clustering: LazyClusteringManager
    /// The engine when several hosts share it: cached contexts are checked against its
    /// context versions.
    private let shared: (any SharedMemoryEngine)?
    /// Over a shared engine: the context version each cached context was loaded at.
    private let contextVersions = Mutex<[ContextCache.Key: Int64]>([:])

    init(engine: any MemoryEngine, configuration: MemoryConfiguration, cache: ContextCache, counters: WritePathCounters) throws {
        self.cache = cache
        loader = ContextLoader(engine: engine, workingSetSize: configuration.workingSetSize)
        let shared = engine as? any SharedMemoryEngine
        let clustering = try LazyClusteringManager(
            engine: engine, theta: configuration.theta, threshold: configuration.clusteringThreshold,
            timeout: configuration.clusteringTimeout, clock: configuration.clock,
            background: configuration.backgroundClustering && !configuration.readOnly, metrics: counters.metrics)
        self.shared = shared
        self.clustering = clustering
        let committer = OptimizedCommitter(
            engine: engine, clustering: clustering, shared: shared != nil, clock: configuration.clock,
            theta: configuration.theta, counters: counters)
        queue = GroupCommitQueue(maxOps: configuration.maxBatchOperations, committer: committer)
    }

    func prepare(_ key: ContextCache.Key, now: Double) throws -> ContextCache.Handle? {
        try cache.lookup(key, now: now) { try loader.load(key) }.handle
    }

    func prepare(_ key: ContextCache.Key) throws {
        _ = try cache.context(key) { try loader.load(key) }
    }

    func noteWritten(_ handle: ContextCache.Handle?, id: String) {
        if let handle { cache.noteWrite(handle, id: id) }
    }

    func noteWritten(_ key: ContextCache.Key, id: String) {
        cache.noteWrite(key, id: id)
    }

    func context(_ key: ContextCache.Key) throws -> PluginContext {
        if let shared {
            // Another host may have written this context: serve the cached copy only while
            // the stored version is the one it was loaded at.
            let version = try shared.contextVersion(goal: key.goal, plugin: key.plugin)
            if contextVersions.withLock({ $0[key] }) != version {
                cache.invalidate(key)
                let ctx = try cache.context(key) { try loader.load(key) }
                contextVersions.withLock { $0[key] = version }
                return ctx
            }
        }
        return try cache.context(key) { try loader.load(key) }
    }

    func finishPending(goal: String) throws {
        if shared != nil {
            try clustering.ensureLoaded(goal: goal)
        } else {
            try clustering.runNow(goal: goal)
        }
    }

    func flush() throws {
        try clustering.flush()
    }

    func flush(goal: String) throws {
        try clustering.flush(goal: goal)
    }

    func addCounters(to s: inout MemoryStats) {
        let c = cache.counters
        s.cacheHits = c.hits
        s.cacheMisses = c.misses
        s.cacheEvictions = c.evictions
        s.cacheExpirations = c.expirations
        s.clusteringRuns = clustering.runCount
        s.clusteringNanos = clustering.nanoseconds
        s.clusteringRunsSkipped = clustering.runsSkipped
        s.clusteringSavedNanos = clustering.savedNanoseconds
    }

    func clusteringTick() { clustering.tick() }

    var goalsWithPendingClustering: Int { clustering.pendingGoals }
}

/// The eager baseline: a fresh context per write, one commit per write (``EagerCommitter``),
/// the goal re-clustered in full after every write (``EagerClustering``).
final class EagerWritePath: WritePath {
    let queue: GroupCommitQueue
    private let engine: any MemoryEngine
    private let loader: ContextLoader
    private let clustering: EagerClustering
    private let counters: WritePathCounters

    init(engine: any MemoryEngine, configuration: MemoryConfiguration, counters: WritePathCounters) throws {
        self.engine = engine
        self.counters = counters
        loader = ContextLoader(engine: engine, workingSetSize: configuration.workingSetSize)
        let clustering = try EagerClustering(
            engine: engine, theta: configuration.theta, maxDependencyDepth: configuration.maxDependencyDepth, counters: counters)
        self.clustering = clustering
        let committer = EagerCommitter(engine: engine, clustering: clustering, clock: configuration.clock, counters: counters)
        queue = GroupCommitQueue(maxOps: 1, committer: committer)
    }

    func prepare(_ key: ContextCache.Key, now: Double) throws -> ContextCache.Handle? {
        try prepare(key)
        return nil
    }

    func prepare(_ key: ContextCache.Key) throws {
        _ = try loader.load(key)
        counters.stats.withLock { $0.cacheMisses += 1 }
        counters.metrics.cacheMisses.increment()
    }

    func noteWritten(_ handle: ContextCache.Handle?, id: String) {}

    func noteWritten(_ key: ContextCache.Key, id: String) {}

    func context(_ key: ContextCache.Key) throws -> PluginContext {
        counters.stats.withLock { $0.cacheMisses += 1 }
        counters.metrics.cacheMisses.increment()
        return try loader.load(key)
    }

    func finishPending(goal: String) throws {
        try clustering.recluster(goal: goal, around: [])
    }

    func flush() throws {
        // The eager path re-clusters after every write; a goal is pending only where that
        // failed, or where another process left it so.
        for goal in try engine.goalsPendingClustering() { try clustering.recluster(goal: goal, around: []) }
    }

    func flush(goal: String) throws {
        if try engine.goalsPendingClustering().contains(goal) { try clustering.recluster(goal: goal, around: []) }
    }

    func addCounters(to s: inout MemoryStats) {}

    func clusteringTick() {}

    var goalsWithPendingClustering: Int { 0 }
}
