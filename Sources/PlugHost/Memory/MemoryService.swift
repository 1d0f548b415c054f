import Dispatch
import Foundation
import Synchronization

/// The memory write path: every write goes through the context cache, the dependency batcher
/// (with group commit) and lazy clustering before it reaches the engine. With
/// ``MemoryConfiguration/optimized`` off it is the eager baseline instead: a fresh context per
/// write, one commit per write, the concept graph re-read around every write and the goal
/// re-clustered in full after every write. Both give the same clusters after ``flush()``.
public final class MemoryService: HostServices, @unchecked Sendable {
    /// The engine behind the path.
    public let engine: any MemoryEngine
    /// The settings.
    public let configuration: MemoryConfiguration

    private let normalizer: WriteNormalizer
    /// Copies of `configuration` fields read on every write (reading the struct copies it).
    private let optimized: Bool
    private let clock: any WallClock
    private let theta: Int32
    private let cache: ContextCache
    private let batcher = DependencyBatcher()
    private let clustering: LazyClusteringManager
    private var queue: GroupCommitQueue!
    private let statsState = Mutex(MemoryStats())
    private let idPrefix: String
    private let idCounter = Atomic<UInt64>(0)
    private let lastSweep = Atomic<Int64>(0)
    private let closed = Atomic<Bool>(false)
    /// True over a ``SharedMemoryEngine`` (several hosts): clustering is the engine's.
    private let sharedEngine: Bool
    /// True for a service of a command that only reads (``MemoryConfiguration/readOnly``).
    private let readOnly: Bool
    /// Over a shared engine: the context version each cached context was loaded at.
    private let contextVersions = Mutex<[ContextCache.Key: Int64]>([:])

    /// Opens the write path over `engine`, finishing any clustering work the engine recorded
    /// as pending (a process killed before a flush).
    public init(engine: any MemoryEngine, configuration: MemoryConfiguration = MemoryConfiguration()) throws {
        self.engine = engine
        self.configuration = configuration
        sharedEngine = engine is any SharedMemoryEngine
        optimized = configuration.optimized
        clock = configuration.clock
        theta = configuration.theta
        normalizer = WriteNormalizer(limits: configuration.limits)
        cache = ContextCache(
            capacity: configuration.cacheCapacity, ttl: configuration.cacheTTL,
            workingSetSize: configuration.workingSetSize, clock: configuration.clock)
        readOnly = configuration.readOnly
        clustering = try LazyClusteringManager(
            engine: engine, theta: configuration.theta, threshold: configuration.clusteringThreshold,
            timeout: configuration.clusteringTimeout, clock: configuration.clock,
            background: configuration.backgroundClustering && configuration.optimized && !configuration.readOnly)
        idPrefix = String(UInt64.random(in: 0..<(1 << 40)), radix: 36)
        queue = GroupCommitQueue(
            maxOps: configuration.optimized ? configuration.maxBatchOperations : 1,
            commit: { [unowned self] ops, stops in
                self.optimized ? self.commitOptimized(ops, stops: stops) : self.commitEager(ops, stops: stops)
            },
            commitOne: { [unowned self] op in
                self.optimized ? self.commitOptimized(op) : self.commitEager([op], stops: [nil])[0]
            })
        // A read-only service never stores clusters: it computes pending goals' clusters
        // when asked (see `clusters(goal:)`).
        guard !readOnly else { return }
        for goal in try engine.goalsPendingClustering() {
            if !configuration.optimized {
                try recluster(goal: goal, around: [])
            } else if sharedEngine {
                try clustering.ensureLoaded(goal: goal)
            } else {
                try clustering.runNow(goal: goal)
            }
        }
    }

    /// The error of a write-path operation on a read-only service.
    private var readOnlyError: MemoryError {
        MemoryError(.readOnly, "the memory (\(engine.kind) engine\((engine as? SQLiteEngine).map { " at \($0.path)" } ?? "")) was opened read-only, by a command that only reads; nothing can be written through it")
    }

    // MARK: - Writes

    /// Writes one memory; returns its id once the engine acknowledged it.
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
            memory = try normalizer.normalize(write, id: write.id ?? nextID(), now: now)
            // Layer 1: the (goal, plugin) context; a fresh one per write in the baseline.
            let key = ContextCache.Key(goal: memory.goal, plugin: memory.plugin)
            if optimized {
                handle = try cache.lookup(key, now: now) { try loadContext(key) }.handle
            } else {
                _ = try loadContext(key)
                statsState.withLock { $0.cacheMisses += 1 }
            }
        } catch let e as MemoryError {
            let cacheNanos = DispatchTime.now().uptimeNanoseconds - cacheStart
            statsState.withLock {
                $0.rejected += 1
                $0.cacheNanos += cacheNanos
            }
            throw e
        } catch {
            throw MemoryError(.storage, "\(error)")
        }
        let cacheNanos = DispatchTime.now().uptimeNanoseconds - cacheStart
        statsState.withLock { $0.cacheNanos += cacheNanos }
        switch queue.submit(.write(memory, callerID: write.id != nil)) {
        case .success(.written(let id)):
            if let handle { cache.noteWrite(handle, id: id) }
            return id
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
        let now = configuration.clock.now()
        var results = [Result<String, MemoryError>?](repeating: nil, count: writes.count)
        var ops: [QueuedOp] = []
        var opIndex: [Int] = []
        ops.reserveCapacity(writes.count)
        var rejected = 0
        let cacheStart = DispatchTime.now().uptimeNanoseconds
        var lastKey: ContextCache.Key?
        for (i, w) in writes.enumerated() {
            do {
                let memory = try normalizer.normalize(w, id: w.id ?? nextID(), now: now)
                // Layer 1: the (goal, plugin) context; a fresh one per write in the baseline.
                let key = ContextCache.Key(goal: memory.goal, plugin: memory.plugin)
                if configuration.optimized {
                    if key != lastKey {
                        _ = try cache.context(key) { try loadContext(key) }
                        lastKey = key
                    } else {
                        _ = try cache.context(key) { try loadContext(key) }
                    }
                } else {
                    _ = try loadContext(key)
                    statsState.withLock { $0.cacheMisses += 1 }
                }
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
        statsState.withLock {
            $0.rejected += rejected
            $0.cacheNanos += cacheNanos
        }
        let outcomes = queue.submit(ops, stopAtFirstFailure: stopAtFirstFailure)
        for (k, outcome) in outcomes.enumerated() {
            let i = opIndex[k]
            switch outcome {
            case .success(.written(let id)):
                results[i] = .success(id)
                if configuration.optimized, case .write(let m, _) = ops[k] {
                    cache.noteWrite(ContextCache.Key(goal: m.goal, plugin: m.plugin), id: id)
                }
            case .success(.forgotten): results[i] = .failure(MemoryError(.storage, "internal: unexpected outcome"))
            case .failure(let e): results[i] = .failure(e)
            }
        }
        if stopAtFirstFailure, let first = results.firstIndex(where: { if case .failure? = $0 { true } else { false } }) {
            // A commit-time rejection before a normaliser's: only the first failure says why.
            for j in (first + 1)..<results.count { results[j] = .failure(StopMark.skipped) }
        }
        return results.map { $0! }
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
        case .success(.written): return false
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

    private func nextID() -> String {
        "m\(idPrefix)-\(idCounter.wrappingAdd(1, ordering: .relaxed).newValue)"
    }

    private func loadContext(_ key: ContextCache.Key) throws -> PluginContext {
        let values = try engine.loadContext(goal: key.goal, plugin: key.plugin)
        let recent = try engine.memories(goal: key.goal, plugin: key.plugin, limit: configuration.workingSetSize)
        return PluginContext(values: values, recent: recent.reversed().map(\.id))
    }

    // MARK: - Commits

    /// One operation committed alone (one writer, each write acknowledged before the next):
    /// a write whose id is free, or a forget of a stored memory, goes straight to a one-memory
    /// batch; a write whose id is in use takes the general path.
    private func commitOptimized(_ op: QueuedOp) -> Result<OpOutcome, MemoryError> {
        let batchStart = DispatchTime.now().uptimeNanoseconds
        let m: Memory
        let isWrite: Bool
        do {
            switch op {
            case .write(let w, _):
                if try engine.memory(id: w.id) != nil { return commitOptimized([op], stops: [nil])[0] }
                (m, isWrite) = (w, true)
            case .forget(let id, let goal):
                guard let found = try engine.memory(id: id), goal == nil || goal == found.goal else { return .success(.forgotten(nil)) }
                (m, isWrite) = (found, false)
            }
        } catch {
            return .failure(MemoryError(.storage, "commit failed, nothing of it was acknowledged: reading the engine failed: \(error)"))
        }
        let planned = batcher.single(isWrite ? .write(m) : .forget(m))
        let batch = planned.batch
        let engineStart = DispatchTime.now().uptimeNanoseconds
        let applied: BatchResult
        do {
            try clustering.ensureLoaded(goal: m.goal)
            applied = try engine.apply([batch])[0]
        } catch {
            let e = (error as? MemoryError).map { MemoryError(.storage, "commit failed, nothing of it was acknowledged: \($0.message)") }
                ?? MemoryError(.storage, "commit failed, nothing of it was acknowledged: \(error)")
            return .failure(e)
        }
        let engineEnd = DispatchTime.now().uptimeNanoseconds
        // A shared engine clusters from its stored counts: no graph changes to queue.
        let changes = sharedEngine ? [] : GraphChange.from(batch, applied, theta: theta)
        clustering.record(goal: m.goal, changes: changes, writes: 1, version: applied.goalVersion)
        let edgeOps = batch.edges.count
        statsState.withLock { s in
            s.commits += 1
            s.batches += planned.groups
            if isWrite { s.writes += 1 } else { s.forgets += 1 }
            s.edgeOps += edgeOps
            s.edgeOpsUnbatched += planned.unbatchedEdgeOps
            s.batchNanos += engineStart - batchStart
            s.engineNanos += engineEnd - engineStart
        }
        guard isWrite else {
            // An expired memory was already gone: forgetting it finds nothing.
            return .success(.forgotten((m.expiresAt ?? .infinity) > clock.now() ? m.goal : nil))
        }
        return .success(.written(m.id))
    }

    /// One group commit. `stops[i]` is the stop mark of `ops[i]`'s submission (see `StopMark`):
    /// an operation whose mark is set is skipped, and a rejected one sets its mark.
    private func commitOptimized(_ ops: [QueuedOp], stops: [StopMark?]) -> [Result<OpOutcome, MemoryError>] {
        var results = [Result<OpOutcome, MemoryError>](repeating: .success(.forgotten(nil)), count: ops.count)
        var planned: [PlannedOp?] = []
        planned.reserveCapacity(ops.count)
        var insertedAt: [String: Int] = [:]
        var forgotten = Set<String>()
        var rejected = 0
        /// Writes and forgets that cancelled out within the commit (pairs).
        var cancelled = 0
        let now = configuration.clock.now()
        let batchStart = DispatchTime.now().uptimeNanoseconds
        do {
            // One engine look-up for every id of the commit: caller ids must be new, and a
            // host id that happens to equal a stored caller id is replaced.
            var ids: [String] = []
            for op in ops {
                switch op {
                case .write(let m, _): ids.append(m.id)
                case .forget(let id, _): ids.append(id)
                }
            }
            var stored = try engine.existingMemories(ids)
            for (i, op) in ops.enumerated() {
                if let stop = stops[i], stop.stopped {
                    results[i] = .failure(StopMark.skipped)
                    continue
                }
                switch op {
                case .write(var m, let callerID):
                    if let old = stored[m.id], (old.expiresAt ?? .infinity) <= now, insertedAt[m.id] == nil {
                        // Expired but not swept yet: it is gone; sweep it now so the id is free.
                        planned.append(.forget(old))
                        stored.removeValue(forKey: m.id)
                    }
                    if insertedAt[m.id] != nil || stored[m.id] != nil {
                        guard !callerID else {
                            results[i] = .failure(MemoryError(.invalid, "a memory with id \(m.id.debugDescription) already exists"))
                            rejected += 1
                            stops[i]?.stop()
                            continue
                        }
                        repeat { m.id = nextID() } while try insertedAt[m.id] != nil || engine.memory(id: m.id) != nil
                    }
                    insertedAt[m.id] = planned.count
                    planned.append(.write(m))
                    results[i] = .success(.written(m.id))
                case .forget(let id, let goal):
                    if let k = insertedAt[id], case .write(let m)? = planned[k], goal == nil || goal == m.goal {
                        // Written and forgotten in the same commit: neither reaches the engine.
                        planned[k] = nil
                        insertedAt.removeValue(forKey: id)
                        forgotten.insert(id)
                        cancelled += 1
                        results[i] = .success(.forgotten(m.goal))
                    } else if !forgotten.contains(id), let m = stored[id], goal == nil || goal == m.goal {
                        forgotten.insert(id)
                        stored.removeValue(forKey: id)
                        planned.append(.forget(m))
                        // An expired memory was already gone: forgetting it finds nothing.
                        results[i] = .success(.forgotten((m.expiresAt ?? .infinity) > now ? m.goal : nil))
                    }
                }
            }
        } catch {
            for stop in stops { stop?.stop() }
            return ops.map { _ in .failure(MemoryError(.storage, "commit failed, nothing of it was acknowledged: reading the engine failed: \(error)")) }
        }
        let batches = batcher.plan(planned.compactMap { $0 })
        let engineStart = DispatchTime.now().uptimeNanoseconds
        guard !batches.isEmpty else {
            statsState.withLock { s in
                s.writes += cancelled
                s.forgets += cancelled
                s.rejected += rejected
            }
            return results
        }
        let applied: [BatchResult]
        do {
            if sharedEngine { for goal in Set(batches.map(\.batch.goal)) { try clustering.ensureLoaded(goal: goal) } }
            applied = try engine.apply(batches.map(\.batch))
        } catch {
            let e = (error as? MemoryError).map { MemoryError(.storage, "commit failed, nothing of it was acknowledged: \($0.message)") }
                ?? MemoryError(.storage, "commit failed, nothing of it was acknowledged: \(error)")
            for stop in stops { stop?.stop() }
            return results.map { r in if case .failure = r { r } else { .failure(e) } }
        }
        let engineEnd = DispatchTime.now().uptimeNanoseconds
        var writes = 0, forgets = 0, edgeOps = 0, unbatched = 0
        // One record per goal and commit: a goal can have several batches in one commit (a
        // leading batch of forgets of ids the commit writes again), and a clustering run must
        // never see part of a commit, or it could clear the goal's pending mark (the commit's
        // version is covered) without the rest of its changes.
        var records: [(goal: String, changes: [GraphChange], writes: Int, version: Int64)] = []
        var recordOf: [String: Int] = [:]
        for (b, r) in zip(batches, applied) {
            // A shared engine clusters from its stored counts: no graph changes to queue.
            let changes = sharedEngine ? [] : GraphChange.from(b.batch, r, theta: configuration.theta)
            if batches.count > 1, let i = recordOf[b.batch.goal] {
                records[i].changes.append(contentsOf: changes)
                records[i].writes += b.writes + b.forgets
                records[i].version = max(records[i].version, r.goalVersion)
            } else {
                if batches.count > 1 { recordOf[b.batch.goal] = records.count }
                records.append((b.batch.goal, changes, b.writes + b.forgets, r.goalVersion))
            }
            writes += b.writes
            forgets += b.forgets
            edgeOps += b.batch.edges.count
            unbatched += b.unbatchedEdgeOps
        }
        for r in records { clustering.record(goal: r.goal, changes: r.changes, writes: r.writes, version: r.version) }
        statsState.withLock { s in
            s.rejected += rejected
            s.commits += 1
            s.batches += batches.reduce(0) { $0 + $1.groups }
            s.writes += writes + cancelled
            s.forgets += forgets + cancelled
            s.edgeOps += edgeOps
            s.edgeOpsUnbatched += unbatched
            s.batchNanos += engineStart - batchStart
            s.engineNanos += engineEnd - engineStart
        }
        return results
    }

    /// The eager baseline's commits: one per operation, in order. `stops` as for
    /// ``commitOptimized(_:stops:)``.
    private func commitEager(_ ops: [QueuedOp], stops: [StopMark?]) -> [Result<OpOutcome, MemoryError>] {
        zip(ops, stops).map { op, stop in
            if let stop, stop.stopped { return .failure(StopMark.skipped) }
            let r = commitEager([op])[0]
            if case .failure = r { stop?.stop() }
            return r
        }
    }

    private func commitEager(_ ops: [QueuedOp]) -> [Result<OpOutcome, MemoryError>] {
        ops.map { op in
            do {
                let m: Memory
                let isWrite: Bool
                switch op {
                case .write(var w, let callerID):
                    if let old = try engine.memory(id: w.id) {
                        if (old.expiresAt ?? .infinity) > configuration.clock.now() {
                            if callerID {
                                statsState.withLock { $0.rejected += 1 }
                                return .failure(MemoryError(.invalid, "a memory with id \(w.id.debugDescription) already exists"))
                            }
                            repeat { w.id = nextID() } while try engine.memory(id: w.id) != nil
                        } else {
                            try commitEagerDelete(old)
                        }
                    }
                    m = w
                    isWrite = true
                case .forget(let id, let goal):
                    guard let found = try engine.memory(id: id), goal == nil || goal == found.goal else {
                        return .success(.forgotten(nil))
                    }
                    m = found
                    isWrite = false
                }
                let planned = batcher.plan([isWrite ? .write(m) : .forget(m)])
                let start = DispatchTime.now().uptimeNanoseconds
                _ = try engine.apply(planned.map(\.batch))
                let applied = DispatchTime.now().uptimeNanoseconds
                // One edge operation per pair of the write (no merging) …
                let pairs = planned.reduce(0) { $0 + $1.unbatchedEdgeOps }
                // … then the concept graph re-initialised around the write and a full re-clustering.
                // The write is committed by now: a failed re-clustering (e.g. another process
                // held the write lock past the busy timeout) leaves the goal pending in the
                // engine, which the next re-clustering of the goal, a flush or the next open
                // finishes; it does not make the write unacknowledged.
                let reinitialised = (try? recluster(goal: m.goal, around: m.concepts)) ?? 0
                statsState.withLock { s in
                    s.commits += 1
                    s.batches += 1
                    if isWrite { s.writes += 1 } else { s.forgets += 1 }
                    s.edgeOps += pairs + reinitialised
                    s.edgeOpsUnbatched += pairs
                    s.engineNanos += applied - start
                }
                let live = (m.expiresAt ?? .infinity) > configuration.clock.now()
                return .success(isWrite ? .written(m.id) : .forgotten(live ? m.goal : nil))
            } catch let e as MemoryError {
                return .failure(MemoryError(.storage, "commit failed, nothing of it was acknowledged: \(e.message)"))
            } catch {
                return .failure(MemoryError(.storage, "commit failed, nothing of it was acknowledged: \(error)"))
            }
        }
    }

    /// Deletes an expired memory on the eager path (as the sweep would), re-clustering after.
    private func commitEagerDelete(_ m: Memory) throws {
        _ = try engine.apply(batcher.plan([.forget(m)]).map(\.batch))
        try recluster(goal: m.goal, around: m.concepts)
        statsState.withLock { $0.forgets += 1 }
    }

    /// The eager baseline's graph work: loads the goal's concept graph, counts the edges within
    /// `maxDependencyDepth` of `concepts` (re-initialised), re-clusters the whole goal and stores
    /// every assignment. Returns the number of edges re-initialised.
    @discardableResult
    private func recluster(goal: String, around concepts: [String]) throws -> Int {
        let start = DispatchTime.now().uptimeNanoseconds
        let snapshot = try engine.conceptGraph(goal: goal)
        var adjacency: [String: [String]] = [:]
        for e in snapshot.edges {
            adjacency[e.a, default: []].append(e.b)
            adjacency[e.b, default: []].append(e.a)
        }
        var seen = Set(concepts)
        var frontier = concepts
        var touched = 0
        for _ in 0..<configuration.maxDependencyDepth where !frontier.isEmpty {
            var next: [String] = []
            for c in frontier {
                for n in adjacency[c] ?? [] {
                    touched += 1
                    if seen.insert(n).inserted { next.append(n) }
                }
            }
            frontier = next
        }
        if let shared = engine as? any SharedMemoryEngine {
            // Several hosts: the engine re-clusters under its per-goal lock.
            try SharedClustering.recluster(shared, goal: goal, theta: configuration.theta)
        } else if let coordinator = engine as? any ClusteringCoordinator {
            // Under the engine's write lock, from the goal as committed (another process may
            // have written since `snapshot` was read).
            try coordinator.withClusteringSession(goal: goal) { session in
                let stored = try session.read()
                let assignments = FullClustering.assignments(stored.graph, theta: configuration.theta)
                var changes: [(concept: String, cluster: String?)] = assignments.map { ($0.key, $0.value) }
                for c in stored.assignments.keys where assignments[c] == nil { changes.append((c, nil)) }
                try session.store(changes, through: stored.committed)
            }
        } else {
            throw MemoryError(.invalid, "the \(engine.kind) engine cannot be clustered by the eager path")
        }
        let end = DispatchTime.now().uptimeNanoseconds
        statsState.withLock {
            $0.clusteringRuns += 1
            $0.clusteringNanos += end - start
        }
        return touched
    }

    // MARK: - TTL

    private func sweepIfDue() { sweepIfDue(now: clock.now()) }

    private func sweepIfDue(now time: Double) {
        let now = Int64(time)
        let last = lastSweep.load(ordering: .relaxed)
        guard now > last, lastSweep.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged else { return }
        _ = try? sweepExpired()
    }

    /// Forgets every memory whose TTL has run out; returns how many.
    @discardableResult
    public func sweepExpired() throws -> Int {
        var total = 0
        while true {
            let expired = try engine.expiredMemories(at: configuration.clock.now(), limit: 1000)
            guard !expired.isEmpty else { return total }
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
        let now = configuration.clock.now()
        let live = { (m: RecalledMemory) in (m.memory.expiresAt ?? .infinity) > now }
        var fetch: (Int) throws -> [RecalledMemory]
        switch query {
        case .concept(let c):
            let key = ConceptKey.normalize(c)
            guard !key.isEmpty else { throw MemoryError(.invalid, "concept \(c.debugDescription) is empty after normalisation") }
            fetch = { try self.engine.memories(goal: goal, concept: key, limit: $0).map { RecalledMemory(memory: $0, score: 0) } }
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
        guard let m = try engine.memory(id: id), (m.expiresAt ?? .infinity) > configuration.clock.now() else { return nil }
        return m
    }

    // MARK: - Contexts

    /// A plugin's whole context for a goal (with its working set of recent memory ids).
    public func context(goal: String, plugin: String) throws -> PluginContext {
        let key = ContextCache.Key(goal: goal, plugin: plugin)
        if configuration.optimized {
            if let shared = engine as? any SharedMemoryEngine {
                // Another host may have written this context: serve the cached copy only while
                // the stored version is the one it was loaded at.
                let version = try shared.contextVersion(goal: goal, plugin: plugin)
                if contextVersions.withLock({ $0[key] }) != version {
                    cache.invalidate(key)
                    let ctx = try cache.context(key) { try loadContext(key) }
                    contextVersions.withLock { $0[key] = version }
                    return ctx
                }
            }
            return try cache.context(key) { try loadContext(key) }
        }
        statsState.withLock { $0.cacheMisses += 1 }
        return try loadContext(key)
    }

    public func contextValue(goal: String, plugin: String, key: String) throws -> String? {
        try context(goal: goal, plugin: plugin).values[key]
    }

    public func setContextValue(goal: String, plugin: String, key: String, value: String?) throws {
        guard !closed.load(ordering: .relaxed) else { throw MemoryError(.closed, "the memory service is closed") }
        guard !readOnly else { throw readOnlyError }
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

    public func log(plugin: String?, level: LogLevel, message: String) {
        HostLog.emit(plugin: plugin, level: level, message: message)
    }

    // MARK: - Clusters, flush, stats

    /// Sweeps expired memories and runs all pending clustering; afterwards cluster assignments
    /// are exact.
    public func flush() throws {
        guard !readOnly else { return }
        try sweepExpired()
        if configuration.optimized {
            try clustering.flush()
        } else {
            // The eager path re-clusters after every write; a goal is pending only where that
            // failed, or where another process left it so.
            for goal in try engine.goalsPendingClustering() { try recluster(goal: goal, around: []) }
        }
    }

    /// The canonical clusters of one goal, or of every goal (sorted by goal): the stored ones,
    /// except that a read-only service computes those of goals whose clustering is pending
    /// (another process has not flushed yet) from the stored graph, without storing them.
    public func clusters(goal: String? = nil) throws -> [GoalClusters] {
        let goals = try goal.map { [$0] } ?? engine.goals()
        let pending = readOnly ? Set(try engine.goalsPendingClustering()) : []
        return try goals.compactMap { g in
            let a = pending.contains(g)
                ? FullClustering.assignments(try engine.conceptGraph(goal: g), theta: configuration.theta)
                : try engine.clusterAssignments(goal: g)
            return a.isEmpty ? nil : CanonicalClusters.group(goal: g, assignments: a)
        }
    }

    /// Recomputes every goal's clusters from scratch from the engine's stored graph (what the
    /// eager path does) and returns the goals whose stored clusters differ. Empty after a flush
    /// means the incremental clustering was exact.
    public func verifyClusters() throws -> [String] {
        var differing: [String] = []
        for goal in try engine.goals() {
            let full = FullClustering.assignments(try engine.conceptGraph(goal: goal), theta: configuration.theta)
            if full != (try engine.clusterAssignments(goal: goal)) { differing.append(goal) }
        }
        return differing
    }

    /// Current counters.
    public var stats: MemoryStats {
        var s = statsState.withLock { $0 }
        if configuration.optimized {
            let c = cache.counters
            s.cacheHits = c.hits
            s.cacheMisses = c.misses
            s.cacheEvictions = c.evictions
            s.cacheExpirations = c.expirations
            s.clusteringRuns = clustering.runCount
            s.clusteringNanos = clustering.nanoseconds
        }
        return s
    }

    /// Flushes, then closes the engine. Later operations fail with `.closed`.
    public func close() throws {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        defer { try? engine.close() }
        if !readOnly { try flush() }
    }

    /// Clustering runs of the lazy manager (driven by hand in tests with a manual clock).
    func clusteringTick() { clustering.tick() }

    /// Goals with clustering work pending.
    var goalsWithPendingClustering: Int { clustering.pendingGoals }
}
