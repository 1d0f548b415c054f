import Dispatch
import Synchronization
import Foundation
import PlugHostCore

/// The optimized path's commit stage: looks the commit's ids up in one engine read, resolves
/// id conflicts and writes forgotten in the same commit, groups the operations with the
/// ``DependencyBatcher``, applies the batches in one engine transaction and hands the graph
/// changes to the ``LazyClusteringManager``.
final class OptimizedCommitter: BatchCommitter {
    private let engine: any MemoryEngine
    private let batcher = DependencyBatcher()
    private let clustering: LazyClusteringManager
    /// True over a ``SharedMemoryEngine``: clustering reads the stored counts, so no graph
    /// changes are derived from the commits (fixed when the path is built).
    private let shared: Bool
    private let clock: any WallClock
    private let theta: Int32
    private let counters: WritePathCounters

    init(
        engine: any MemoryEngine, clustering: LazyClusteringManager, shared: Bool, clock: any WallClock, theta: Int32,
        counters: WritePathCounters
    ) {
        self.engine = engine
        self.clustering = clustering
        self.shared = shared
        self.clock = clock
        self.theta = theta
        self.counters = counters
    }

    /// One operation committed alone (one writer, each write acknowledged before the next):
    /// a write whose id is free (and, without a caller-given id, whose content no stored
    /// memory has), or a forget of a stored memory, goes straight to a one-memory batch; any
    /// other write takes the general path.
    func commit(_ op: QueuedOp) -> Result<OpOutcome, MemoryError> {
        let batchStart = DispatchTime.now().uptimeNanoseconds
        let m: Memory
        let isWrite: Bool
        var hostAssigned = false
        do {
            switch op {
            case .write(let w, let callerID):
                if try engine.memory(id: w.id) != nil { return commit([op], stops: [nil])[0] }
                if !callerID, try !engine.memoriesWithSameContent(as: [w])[0].isEmpty { return commit([op], stops: [nil])[0] }
                (m, isWrite, hostAssigned) = (w, true, !callerID)
            case .forget(let id, let goal):
                guard let found = try engine.memory(id: id), goal == nil || goal == found.goal else { return .success(.forgotten(nil)) }
                (m, isWrite) = (found, false)
            }
        } catch {
            return .failure(MemoryError(.storage, "commit failed, nothing of it was acknowledged: reading the engine failed: \(error)"))
        }
        let planned = batcher.single(isWrite ? .write(m) : .forget(m))
        var batch = planned.batch
        if hostAssigned { batch.hostAssigned = [true] }
        let engineStart = DispatchTime.now().uptimeNanoseconds
        let applied: BatchResult
        do {
            try clustering.ensureLoaded(goal: m.goal)
            applied = try engine.apply([batch])[0]
        } catch is DuplicateContentError {
            // Another process stored the same memory since the look-up: look again.
            return commit([op], stops: [nil])[0]
        } catch {
            let e =
                (error as? MemoryError).map { MemoryError(.storage, "commit failed, nothing of it was acknowledged: \($0.message)") }
                ?? MemoryError(.storage, "commit failed, nothing of it was acknowledged: \(error)")
            return .failure(e)
        }
        let engineEnd = DispatchTime.now().uptimeNanoseconds
        // A shared engine clusters from its stored counts: no graph changes to queue.
        let changes = shared ? [] : GraphChange.from(batch, applied, theta: theta)
        clustering.record(goal: m.goal, changes: changes, writes: 1, version: applied.goalVersion)
        let edgeOps = batch.edges.count
        let edgeOpsSaved = max(0, planned.unbatchedEdgeOps - edgeOps)
        let engineNanos = engineEnd - engineStart
        let savedNanos = Self.edgeWriteSavedNanos(engineNanos: engineNanos, rows: Self.rows(batch), saved: edgeOpsSaved)
        counters.stats.withLock { s in
            s.commits += 1
            s.batches += planned.groups
            if isWrite { s.writes += 1 } else { s.forgets += 1 }
            s.edgeOps += edgeOps
            s.edgeOpsUnbatched += planned.unbatchedEdgeOps
            s.batchNanos += engineStart - batchStart
            s.engineNanos += engineNanos
            s.edgeWriteSavedNanos += savedNanos
        }
        counters.metrics.commit(
            writes: isWrite ? 1 : 0, forgets: isWrite ? 0 : 1, batches: planned.groups, edgeOps: edgeOps, edgeOpsSaved: edgeOpsSaved,
            engineNanos: engineNanos, edgeWriteSavedNanos: savedNanos)
        guard isWrite else {
            // An expired memory was already gone: forgetting it finds nothing.
            return .success(.forgotten((m.expiresAt ?? .infinity) > clock.now() ? m.goal : nil))
        }
        return .success(.written(m.id))
    }

    /// Rows a batch writes: its memories (inserted or deleted), concept counts and edge counts.
    static func rows(_ b: EngineBatch) -> Int {
        b.inserts.count + b.deletes.count + b.concepts.count + b.edges.count
    }

    /// The edge writes a commit saved, valued at the commit's measured engine time per row
    /// written (``MemoryStats/edgeWriteSavedNanos``).
    static func edgeWriteSavedNanos(engineNanos: UInt64, rows: Int, saved: Int) -> UInt64 {
        guard rows > 0, saved > 0 else { return 0 }
        return UInt64((Double(engineNanos) / Double(rows) * Double(saved)).rounded())
    }

    /// Looks of a commit at the engine before giving up when other processes keep storing the
    /// same memories as its writes in between (``DuplicateContentError``).
    static let maxAttempts = 8

    /// One group commit. `stops[i]` is the stop mark of `ops[i]`'s submission (see `StopMark`):
    /// an operation whose mark is set is skipped, and a rejected one sets its mark.
    ///
    /// A write without a caller-given id whose content equals a live memory's (stored, or
    /// written earlier in the commit) returns that memory's id and stores nothing; expired
    /// memories of the same content are swept in the commit. When another process stores the
    /// same memory between the look-up and the transaction (``DuplicateContentError``), the
    /// whole commit is planned again.
    func commit(_ ops: [QueuedOp], stops: [StopMark?]) -> [Result<OpOutcome, MemoryError>] {
        for n in 1...Self.maxAttempts {
            if let results = attempt(ops, stops: stops, last: n == Self.maxAttempts) { return results }
        }
        return ops.map { _ in .failure(MemoryError(.storage, "internal: no commit attempt")) }
    }

    /// One attempt of a group commit; nil when it stored nothing because of a
    /// ``DuplicateContentError`` and is not the `last`.
    private func attempt(_ ops: [QueuedOp], stops: [StopMark?], last: Bool) -> [Result<OpOutcome, MemoryError>]? {
        var results = [Result<OpOutcome, MemoryError>](repeating: .success(.forgotten(nil)), count: ops.count)
        var planned: [PlannedOp?] = []
        planned.reserveCapacity(ops.count)
        var insertedAt: [String: Int] = [:]
        var forgotten = Set<String>()
        var rejected = 0
        var deduplicated = 0
        /// Writes and forgets that cancelled out within the commit (pairs).
        var cancelled = 0
        /// Stop marks of submissions rejected in this attempt: set once it is final.
        var stopping: [StopMark] = []
        func isStopped(_ stop: StopMark?) -> Bool {
            guard let stop else { return false }
            return stop.stopped || stopping.contains { $0 === stop }
        }
        /// Host-assigned flags of the planned writes, by id.
        var hostAssigned = Set<String>()
        let now = clock.now()
        let batchStart = DispatchTime.now().uptimeNanoseconds
        do {
            // One engine look-up for every id of the commit: caller ids must be new, and a
            // host id that happens to equal a stored caller id is replaced.
            var ids: [String] = []
            var contentless: [Memory] = []
            for op in ops {
                switch op {
                case .write(let m, let callerID):
                    ids.append(m.id)
                    if !callerID { contentless.append(m) }
                case .forget(let id, _): ids.append(id)
                }
            }
            var stored = try engine.existingMemories(ids)
            // One more for the writes without a caller id: stored memories of the same content.
            var sameContent = contentless.isEmpty ? [] : try engine.memoriesWithSameContent(as: contentless)
            var nextSame = 0
            /// Planned writes (indexes into `planned`) by content hash, to find equal writes of
            /// the commit itself.
            var plannedByContent: [Int: [Int]] = [:]
            for (i, op) in ops.enumerated() {
                if isStopped(stops[i]) {
                    results[i] = .failure(StopMark.skipped)
                    if case .write(_, false) = op { nextSame += 1 }
                    continue
                }
                switch op {
                case .write(var m, let callerID):
                    // Only a commit with writes without caller ids looks for equal writes in it.
                    let contentHash = contentless.isEmpty ? 0 : m.contentHashValue
                    var unique = !callerID
                    if !callerID {
                        let found = sameContent[nextSame]
                        sameContent[nextSame] = []
                        nextSame += 1
                        // Written earlier in this commit (and not forgotten in it)?
                        if let k = plannedByContent[contentHash]?.first(where: { k in
                            if case .write(let p)? = planned[k] { p.hasSameContent(as: m) } else { false }
                        }), case .write(let p)? = planned[k] {
                            if (p.expiresAt ?? .infinity) > now {
                                results[i] = .success(.deduplicated(p.id))
                                deduplicated += 1
                                continue
                            }
                            // Its TTL ran out already: it is not live. Both are stored, this one
                            // outside the engine's one-per-content rule (the other holds it).
                            unique = false
                        }
                        // Stored, live and not forgotten in this commit?
                        let candidates = found.filter { !forgotten.contains($0.id) && insertedAt[$0.id] == nil }
                        if let live = candidates.first(where: { ($0.expiresAt ?? .infinity) > now }) {
                            results[i] = .success(.deduplicated(live.id))
                            deduplicated += 1
                            continue
                        }
                        // Expired but not swept yet: gone; sweep them now (an engine keeps one
                        // memory per content among host-assigned ids).
                        for old in candidates {
                            forgotten.insert(old.id)
                            stored.removeValue(forKey: old.id)
                            planned.append(.forget(old))
                        }
                    }
                    if let old = stored[m.id], (old.expiresAt ?? .infinity) <= now, insertedAt[m.id] == nil {
                        // Expired but not swept yet: it is gone; sweep it now so the id is free.
                        planned.append(.forget(old))
                        stored.removeValue(forKey: m.id)
                    }
                    if insertedAt[m.id] != nil || stored[m.id] != nil {
                        guard !callerID else {
                            results[i] = .failure(MemoryError(.invalid, "a memory with id \(m.id.debugDescription) already exists"))
                            rejected += 1
                            if let stop = stops[i] { stopping.append(stop) }
                            continue
                        }
                        repeat { m.id = counters.nextID() } while try insertedAt[m.id] != nil || engine.memory(id: m.id) != nil
                    }
                    insertedAt[m.id] = planned.count
                    if !contentless.isEmpty { plannedByContent[contentHash, default: []].append(planned.count) }
                    if unique { hostAssigned.insert(m.id) }
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
            return ops.map { _ in
                .failure(MemoryError(.storage, "commit failed, nothing of it was acknowledged: reading the engine failed: \(error)"))
            }
        }
        var batches = batcher.plan(planned.compactMap { $0 })
        if !hostAssigned.isEmpty {
            for k in batches.indices { batches[k].batch.hostAssigned = batches[k].batch.inserts.map { hostAssigned.contains($0.id) } }
        }
        let engineStart = DispatchTime.now().uptimeNanoseconds
        guard !batches.isEmpty else {
            counters.stats.withLock { s in
                s.writes += cancelled
                s.forgets += cancelled
                s.rejected += rejected
                s.deduplicated += deduplicated
            }
            counters.metrics.writes.increment(by: cancelled)
            counters.metrics.forgets.increment(by: cancelled)
            counters.metrics.rejected.increment(by: rejected)
            counters.metrics.deduplicated.increment(by: deduplicated)
            for stop in stopping { stop.stop() }
            return results
        }
        let applied: [BatchResult]
        do {
            if shared { for goal in Set(batches.map(\.batch.goal)) { try clustering.ensureLoaded(goal: goal) } }
            applied = try engine.apply(batches.map(\.batch))
        } catch let e as DuplicateContentError where !last {
            _ = e  // another process stored one of the commit's memories meanwhile: plan again
            return nil
        } catch {
            let e =
                (error as? MemoryError).map { MemoryError(.storage, "commit failed, nothing of it was acknowledged: \($0.message)") }
                ?? MemoryError(.storage, "commit failed, nothing of it was acknowledged: \(error)")
            for stop in stops { stop?.stop() }
            return results.map { r in if case .failure = r { r } else { .failure(e) } }
        }
        let engineEnd = DispatchTime.now().uptimeNanoseconds
        var writes = 0, forgets = 0, edgeOps = 0, unbatched = 0, rows = 0
        // One record per goal and commit: a goal can have several batches in one commit (a
        // leading batch of forgets of ids the commit writes again), and a clustering run must
        // never see part of a commit, or it could clear the goal's pending mark (the commit's
        // version is covered) without the rest of its changes.
        var records: [(goal: String, changes: [GraphChange], writes: Int, version: Int64)] = []
        var recordOf: [String: Int] = [:]
        for (b, r) in zip(batches, applied) {
            // A shared engine clusters from its stored counts: no graph changes to queue.
            let changes = shared ? [] : GraphChange.from(b.batch, r, theta: theta)
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
            rows += Self.rows(b.batch)
        }
        for r in records { clustering.record(goal: r.goal, changes: r.changes, writes: r.writes, version: r.version) }
        for stop in stopping { stop.stop() }
        let groups = batches.reduce(0) { $0 + $1.groups }
        let engineNanos = engineEnd - engineStart
        let edgeOpsSaved = max(0, unbatched - edgeOps)
        let savedNanos = Self.edgeWriteSavedNanos(engineNanos: engineNanos, rows: rows, saved: edgeOpsSaved)
        counters.stats.withLock { s in
            s.rejected += rejected
            s.deduplicated += deduplicated
            s.commits += 1
            s.batches += groups
            s.writes += writes + cancelled
            s.forgets += forgets + cancelled
            s.edgeOps += edgeOps
            s.edgeOpsUnbatched += unbatched
            s.batchNanos += engineStart - batchStart
            s.engineNanos += engineNanos
            s.edgeWriteSavedNanos += savedNanos
        }
        if rejected > 0 { counters.metrics.rejected.increment(by: rejected) }
        if deduplicated > 0 { counters.metrics.deduplicated.increment(by: deduplicated) }
        counters.metrics.commit(
            writes: writes + cancelled, forgets: forgets + cancelled, batches: groups, edgeOps: edgeOps, edgeOpsSaved: edgeOpsSaved,
            engineNanos: engineNanos, edgeWriteSavedNanos: savedNanos)
        return results
    }
}
