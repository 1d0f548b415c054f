import Dispatch
import Foundation
import Logging
import Synchronization
import PlugHostCore

/// The memory write path: every write goes through the context cache, the dependency batcher
/// (with group commit) and lazy clustering before it reaches the engine. With
/// ``MemoryConfiguration/optimized`` off it is the eager baseline instead: a fresh context per
/// write, one commit per write, the concept graph re-read around every write and the goal
/// re-clustered in full after every write. Both give the same clusters after ``flush()``.
///
/// Which of the two it is is decided once, when the service is opened: the service holds a
/// ``WritePath`` (``OptimizedWritePath`` or ``EagerWritePath``) whose stages do the work.
public final class MemoryService: HostServices, Sendable {
    /// The engine behind the path.
    public let engine: any MemoryEngine
    /// The settings.
    public let configuration: MemoryConfiguration
    /// The configured write limits (the host API checks them early too).
    public var limits: MemoryLimits { configuration.limits }

    private let normalizer: WriteNormalizer
    /// Copy of `configuration.clock` (reading the struct copies it).
    private let clock: any WallClock
    private let theta: Int32
    /// The context cache; context writes go through it on both paths.
    private let cache: ContextCache
    /// The stages: optimized or eager, chosen here once.
    private let path: any WritePath
    /// The queue of `path` (read on every write).
    private let queue: GroupCommitQueue
    private let counters: WritePathCounters
    /// The counters as last added to the engine's stored counters (``storeCounters()``).
    private let stored = Mutex(MemoryStats())
    private let lastSweep = Atomic<Int64>(0)
    private let closed = Atomic<Bool>(false)
    /// True for a service of a command that only reads (``MemoryConfiguration/readOnly``).
    private let readOnly: Bool

    /// Opens the write path over `engine`, finishing any clustering work the engine recorded
    /// as pending (a process killed before a flush).
    ///
    /// θ: a θ below 1 is refused. The engine's stored θ is used when the configuration sets
    /// none; a set θ other than the stored one is refused with both values; when none is stored
    /// yet, a service that writes stores its θ (set, or the default) with the memory.
    public init(engine: any MemoryEngine, configuration: MemoryConfiguration = MemoryConfiguration()) throws {
        var configuration = configuration
        try Self.resolveTheta(&configuration, engine: engine)
        self.engine = engine
        self.configuration = configuration
        clock = configuration.clock
        theta = configuration.theta
        normalizer = WriteNormalizer(limits: configuration.limits)
        let counters = WritePathCounters()
        self.counters = counters
        let cache = ContextCache(
            capacity: configuration.cacheCapacity, ttl: configuration.cacheTTL,
            workingSetSize: configuration.workingSetSize, clock: configuration.clock, metrics: counters.metrics)
        self.cache = cache
        readOnly = configuration.readOnly
        let path: any WritePath =
            configuration.optimized
            ? try OptimizedWritePath(engine: engine, configuration: configuration, cache: cache, counters: counters)
            : try EagerWritePath(engine: engine, configuration: configuration, counters: counters)
        self.path = path
        queue = path.queue
        // A read-only service never stores clusters: it computes pending goals' clusters
        // when asked (see `clusters(goal:)`).
        guard !readOnly else { return }
        for goal in try engine.goalsPendingClustering() { try path.finishPending(goal: goal) }
    }

    /// Checks θ's range and agrees it with the θ stored with the memory (see `init`).
    private static func resolveTheta(_ configuration: inout MemoryConfiguration, engine: any MemoryEngine) throws {
        if let t = configuration.explicitTheta, t < 1 {
            throw MemoryError(
                .invalid,
                "theta must be at least 1 (got \(t)): an edge needs co(a,b) ≥ theta, so a theta below 1 would link every pair of concepts")
        }
        guard let stored = try engine.theta(storingIfAbsent: configuration.readOnly ? nil : configuration.theta) else { return }
        if let t = configuration.explicitTheta, t != stored {
            let place = engine.location.map { " at \($0)" } ?? ""
            throw MemoryError(
                .invalid,
                "theta is \(t) here, but the memory (\(engine.kind) engine\(place)) was created with theta \(stored); theta is stored with the memory so that every process clusters alike: pass theta \(stored) or none (to use the stored one), or use another database"
            )
        }
        configuration.theta = stored
    }

    /// The error of a write-path operation on a read-only service.
    private var readOnlyError: MemoryError {
        MemoryError(
            .readOnly,
            "the memory (\(engine.kind) engine\(engine.location.map { " at \($0)" } ?? "")) was opened read-only, by a command that only reads; nothing can be written through it"
        )
    }

    // MARK: - Writes

    /// Writes one memory; returns its id once the engine acknowledged it. A write without a
    /// caller-given id whose content equals a live memory's (``Memory/hasSameContent(as:)``)
    /// returns that memory's id and stores nothing (``MemoryStats/deduplicated``).
    public func write(_ write: MemoryWrite) throws -> String {
        // The same steps as the many-writes path below, for one write without its arrays.
        guard !closed.load(ordering: .relaxed) else { throw MemoryError(.closed, "the memory service is closed") }
        guard !readOnly else { throw readOnlyError }
        let now = clock.now()  // one reading for the sweep check, the write and the cache
        sweepIfDue(now: now)
        let cacheStart = DispatchTime.now().uptimeNanoseconds
        let memory: Memory
        var handle: ContextCache.Handle?
        do {
            memory = try normalizer.normalize(write, id: write.id ?? counters.nextID(), now: now)
            // Layer 1: the (goal, plugin) context; a fresh one per write in the baseline.
            handle = try path.prepare(ContextCache.Key(goal: memory.goal, plugin: memory.plugin), now: now)
        } catch let e as MemoryError {
            let cacheNanos = DispatchTime.now().uptimeNanoseconds - cacheStart
            counters.stats.withLock {
                $0.rejected += 1
                $0.cacheNanos += cacheNanos
            }
            counters.metrics.rejected.increment()
            throw e
        } catch {
            throw MemoryError(.storage, "\(error)")
        }
        let cacheNanos = DispatchTime.now().uptimeNanoseconds - cacheStart
        counters.stats.withLock { $0.cacheNanos += cacheNanos }
        switch queue.submit(.write(memory, callerID: write.id != nil)) {
        case .success(.written(let id)):
            path.noteWritten(handle, id: id)
            return id
        case .success(.deduplicated(let id)): return id
        case .success(.forgotten): throw MemoryError(.storage, "internal: unexpected outcome")
        case .failure(let e): throw e
        }
    }

    /// Writes many memories through one queue submission (they share commits).
    /// Each result is the memory's id or why that write was rejected.
    ///
    /// Without `stopAtFirstFailure`, a rejected write never affects the others. With it, the
    /// writes are applied in order up to the first one that fails, and none after it: the
    /// first failure's result says why, and every later result is a
    /// ``MemoryError/Code/notApplied`` error. A write the normaliser rejects cuts the
    /// submission before it is queued; a rejection only the commit can find (a caller id
    /// already stored, or given twice) cuts it in the commit, even when the queue merged it
    /// with other callers' writes or split it over several commits (see `StopMark`): other
    /// callers' writes are never affected. This is how `plughost memory replay` stops exactly
    /// at a rejected line while still submitting chunks.
    public func write(_ writes: [MemoryWrite], stopAtFirstFailure: Bool = false) -> [Result<String, MemoryError>] {
        guard !closed.load(ordering: .relaxed) else {
            return writes.map { _ in .failure(MemoryError(.closed, "the memory service is closed")) }
        }
        guard !readOnly else { return writes.map { _ in .failure(readOnlyError) } }
        sweepIfDue()
        let now = clock.now()
        var results = [Result<String, MemoryError>?](repeating: nil, count: writes.count)
        var ops: [QueuedOp] = []
        var opIndex: [Int] = []
        ops.reserveCapacity(writes.count)
        var rejected = 0
        let cacheStart = DispatchTime.now().uptimeNanoseconds
        for (i, w) in writes.enumerated() {
            do {
                let memory = try normalizer.normalize(w, id: w.id ?? counters.nextID(), now: now)
                // Layer 1: the (goal, plugin) context; a fresh one per write in the baseline.
                try path.prepare(ContextCache.Key(goal: memory.goal, plugin: memory.plugin))
                ops.append(.write(memory, callerID: w.id != nil))
                opIndex.append(i)
            } catch let e as MemoryError {
                results[i] = .failure(e)
                rejected += 1
            } catch {
                results[i] = .failure(MemoryError(.storage, "\(error)"))
            }
            if stopAtFirstFailure, results[i] != nil {
                // Nothing after the first failure is queued.
                for j in (i + 1)..<writes.count { results[j] = .failure(StopMark.skipped) }
                break
            }
        }
        let cacheNanos = DispatchTime.now().uptimeNanoseconds - cacheStart
        counters.stats.withLock {
            $0.rejected += rejected
            $0.cacheNanos += cacheNanos
        }
        if rejected > 0 { counters.metrics.rejected.increment(by: rejected) }
        let outcomes = queue.submit(ops, stopAtFirstFailure: stopAtFirstFailure)
        for (k, outcome) in outcomes.enumerated() {
            let i = opIndex[k]
            switch outcome {
            case .success(.written(let id)):
                results[i] = .success(id)
                if case .write(let m, _) = ops[k] { path.noteWritten(ContextCache.Key(goal: m.goal, plugin: m.plugin), id: id) }
            case .success(.deduplicated(let id)): results[i] = .success(id)
            case .success(.forgotten): results[i] = .failure(MemoryError(.storage, "internal: unexpected outcome"))
            case .failure(let e): results[i] = .failure(e)
            }
        }
        if stopAtFirstFailure, let first = results.firstIndex(where: { if case .failure? = $0 { true } else { false } }) {
            // A commit-time rejection before a normaliser's: only the first failure says why.
            for j in (first + 1)..<results.count { results[j] = .failure(StopMark.skipped) }
        }
        return results.map { $0 ?? .failure(MemoryError(.storage, "internal: no result")) }
    }

    /// Forgets a memory by id (in `goal` when given); false when there was none.
    public func forget(id: String, goal: String? = nil) throws -> Bool {
        guard !closed.load(ordering: .relaxed) else { throw MemoryError(.closed, "the memory service is closed") }
        guard !readOnly else { throw readOnlyError }
        let r = queue.submit(.forget(id: id, goal: goal))
        switch r {
        case .success(.forgotten(let removedFrom)):
            if let g = removedFrom { cache.noteForget(goal: g, id: id) }
            return removedFrom != nil
        case .success(.written), .success(.deduplicated): return false
        case .failure(let e): throw e
        }
    }

    /// Forgets memories by id in one submission; each result says whether it existed. With
    /// `stopAtFirstFailure`, nothing after the first failed forget (a failed commit) is
    /// applied; later results are ``MemoryError/Code/notApplied`` errors (see
    /// ``write(_:stopAtFirstFailure:)``).
    public func forget(ids: [String], stopAtFirstFailure: Bool = false) -> [Result<Bool, MemoryError>] {
        guard !closed.load(ordering: .relaxed) else {
            return ids.map { _ in .failure(MemoryError(.closed, "the memory service is closed")) }
        }
        guard !readOnly else { return ids.map { _ in .failure(readOnlyError) } }
        let outcomes = queue.submit(ids.map { .forget(id: $0, goal: nil) }, stopAtFirstFailure: stopAtFirstFailure)
        return zip(ids, outcomes).map { id, r in
            r.map {
                guard case .forgotten(let removedFrom) = $0, let g = removedFrom else { return false }
                cache.noteForget(goal: g, id: id)
                return true
            }
        }
    }

    public func forget(goal: String, id: String) throws -> Bool {
        try forget(id: id, goal: goal)
    }

    // MARK: - TTL

    private func sweepIfDue() { sweepIfDue(now: clock.now()) }

    private func sweepIfDue(now time: Double) {
        let now = Int64(time)
        let last = lastSweep.load(ordering: .relaxed)
        guard now > last, lastSweep.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged else { return }
        do {
            try sweepExpired()
        } catch {
            HostLog.memory.warning("sweeping expired memories failed (the next sweep tries again): \(error)")
        }
    }

    /// Forgets every memory whose TTL has run out; returns how many.
    @discardableResult
    public func sweepExpired() throws -> Int {
        var total = 0
        while true {
            let expired = try engine.expiredMemories(at: clock.now(), limit: 1000)
            guard !expired.isEmpty else {
                if total > 0 { HostLog.memory.debug("forgot \(total) expired memor\(total == 1 ? "y" : "ies")") }
                return total
            }
            let results = queue.submit(expired.map { .forget(id: $0.id, goal: $0.goal) })
            for (m, r) in zip(expired, results) {
                if case .failure(let e) = r { throw e }
                cache.noteForget(goal: m.goal, id: m.id)
            }
            total += expired.count
        }
    }

    // MARK: - Reads

    /// Recalls memories of a goal; a write is visible as soon as it returned. Expired memories
    /// are never returned, even before the sweep removed them.
    public func recall(goal: String, _ query: RecallQuery, limit: Int = 20) throws -> [RecalledMemory] {
        let now = clock.now()
        let live = { (m: RecalledMemory) in (m.memory.expiresAt ?? .infinity) > now }
        var fetch: (Int) throws -> [RecalledMemory]
        switch query {
        case .concept(let c):
            let key = ConceptKey.normalize(c)
            guard !key.isEmpty else { throw MemoryError(.invalid, "concept \(c.debugDescription) is empty after normalisation") }
            fetch = { try self.engine.memories(goal: goal, concept: key, limit: $0).map { RecalledMemory(memory: $0, score: 0) } }
        case .related(let c):
            let key = ConceptKey.normalize(c)
            guard !key.isEmpty else { throw MemoryError(.invalid, "concept \(c.debugDescription) is empty after normalisation") }
            let members = try clusterMembers(of: key, goal: goal)
            guard !members.isEmpty else { return [] }
            fetch = { try self.engine.memories(goal: goal, anyOf: members, limit: $0).map { RecalledMemory(memory: $0, score: 0) } }
        case .plugin(let p):
            fetch = { try self.engine.memories(goal: goal, plugin: p, limit: $0).map { RecalledMemory(memory: $0, score: 0) } }
        case .text(let t):
            fetch = { try self.engine.search(goal: goal, text: t, limit: $0) }
        }
        // Expired memories not swept yet must not use up the limit: ask for more until enough
        // live ones came back or the engine has no more.
        var asked = limit
        while true {
            let got = try fetch(asked)
            let alive = got.filter(live)
            if alive.count >= limit || got.count < asked { return Array(alive.prefix(limit)) }
            asked *= 4
        }
    }

    /// The memory with this id, or nil (also when it expired).
    public func memory(id: String) throws -> Memory? {
        guard let m = try engine.memory(id: id), (m.expiresAt ?? .infinity) > clock.now() else { return nil }
        return m
    }

    // MARK: - Contexts

    /// A plugin's whole context for a goal (with its working set of recent memory ids).
    public func context(goal: String, plugin: String) throws -> PluginContext {
        try path.context(ContextCache.Key(goal: goal, plugin: plugin))
    }

    public func contextValue(goal: String, plugin: String, key: String) throws -> String? {
        try context(goal: goal, plugin: plugin).values[key]
    }

    public func setContextValue(goal: String, plugin: String, key: String, value: String?) throws {
        guard !closed.load(ordering: .relaxed) else { throw MemoryError(.closed, "the memory service is closed") }
        guard !readOnly else { throw readOnlyError }
        if let value { try limits.check(contextValue: value.utf8.count) }
        let k = ContextCache.Key(goal: goal, plugin: plugin)
        do {
            try cache.update(k, write: { try engine.storeContext(goal: goal, plugin: plugin, key: key, value: value) }) { ctx in
                ctx.values[key] = value
            }
        } catch let e as MemoryError {
            throw e
        } catch {
            throw MemoryError(.storage, "storing context key \(key.debugDescription) failed: \(error)")
        }
    }

    // MARK: - Clusters, flush, stats

    /// Sweeps expired memories and runs all pending clustering; afterwards cluster assignments
    /// are exact.
    public func flush() throws {
        guard !readOnly else { return }
        try sweepExpired()
        try path.flush()
        try storeCounters()
    }

    /// Adds what this service counted since the last call to the counters stored with the
    /// memory (``MemoryEngine/addCounters(_:)``), so that they add up over every process and
    /// run; ``flush()`` and ``close()`` call it. Nothing on a read-only service.
    public func storeCounters() throws {
        guard !readOnly else { return }
        try stored.withLock { last in
            let now = stats
            let deltas = StoredCounters.deltas(from: last, to: now)
            guard !deltas.isEmpty else { return }
            try engine.addCounters(deltas)
            last = now
        }
    }

    /// The counters stored with the memory: every process's, added on flush and close
    /// (``StoredCounters``), name → value.
    public func storedCounters() throws -> [String: Int64] {
        try engine.storedCounters()
    }

    /// The concepts (sorted) of the cluster `concept` (normalised first) belongs to in `goal`:
    /// empty when no live memory of the goal holds it. Exact with respect to the model: a
    /// writing service first sweeps expired memories and runs the goal's pending clustering
    /// (``flush(goal:)``), so the stored clusters cover every acknowledged write; a read-only
    /// one computes a pending goal's clusters from the stored graph, as ``clusters(goal:)`` does.
    public func clusterMembers(of concept: String, goal: String) throws -> [String] {
        let key = ConceptKey.normalize(concept)
        try flush(goal: goal)
        let pending = readOnly ? Set(try engine.goalsPendingClustering()) : []
        let assignments = try assignments(goal: goal, pending: pending)
        guard let cluster = assignments[key] else { return [] }
        return assignments.compactMap { $0.value == cluster ? $0.key : nil }.sorted(by: ConceptKey.precedes)
    }

    /// Sweeps expired memories and runs `goal`'s pending clustering (this process's, or work
    /// another process left pending): afterwards the goal's stored clusters are exact for
    /// every write acknowledged before the call. Nothing on a read-only service.
    public func flush(goal: String) throws {
        guard !readOnly else { return }
        guard !closed.load(ordering: .relaxed) else { throw MemoryError(.closed, "the memory service is closed") }
        try sweepExpired()
        try path.flush(goal: goal)
    }

    /// The canonical clusters of one goal, or of every goal (sorted by goal): the stored ones,
    /// except that a read-only service computes those of goals whose clustering is pending
    /// (another process has not flushed yet) from the stored graph, without storing them.
    public func clusters(goal: String? = nil) throws -> [GoalClusters] {
        let goals = try goal.map { [$0] } ?? engine.goals()
        let pending = readOnly ? Set(try engine.goalsPendingClustering()) : []
        return try goals.compactMap { g in
            let a = try assignments(goal: g, pending: pending)
            return a.isEmpty ? nil : CanonicalClusters.group(goal: g, assignments: a)
        }
    }

    /// A goal's cluster assignments (concept → cluster id): the stored ones, or for a goal in
    /// `pending` (only a read-only service passes any) those computed from the stored graph.
    private func assignments(goal: String, pending: Set<String>) throws -> [String: String] {
        pending.contains(goal)
            ? LouvainClustering.assignments(try engine.conceptGraph(goal: goal), theta: theta)
            : try engine.clusterAssignments(goal: goal)
    }

    /// Recomputes every goal's clusters from scratch from the engine's stored graph (what the
    /// eager path does) and returns the goals whose stored clusters differ. Empty after a flush
    /// means the incremental clustering was exact.
    public func verifyClusters() throws -> [String] {
        var differing: [String] = []
        for goal in try engine.goals() {
            let full = LouvainClustering.assignments(try engine.conceptGraph(goal: goal), theta: theta)
            if full != (try engine.clusterAssignments(goal: goal)) { differing.append(goal) }
        }
        return differing
    }

    /// Current counters.
    public var stats: MemoryStats {
        var s = counters.stats.withLock { $0 }
        path.addCounters(to: &s)
        return s
    }

    /// Flushes, then closes the engine. Later operations fail with `.closed`.
    public func close() throws {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        defer { try? engine.close() }
        if !readOnly { try flush() }
    }

    /// Clustering runs of the lazy manager (driven by hand in tests with a manual clock).
    func clusteringTick() { path.clusteringTick() }

    /// Goals with clustering work pending.
    var goalsWithPendingClustering: Int { path.goalsWithPendingClustering }
}
