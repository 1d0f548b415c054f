import Dispatch
import Synchronization
import Foundation
import PlugHostCore

/// The eager baseline's commit stage: one engine commit per operation, in order, each
/// followed by the ``EagerClustering`` of its goal (graph re-read around the write, full
/// re-clustering stored).
final class EagerCommitter: BatchCommitter {
    private let engine: any MemoryEngine
    private let batcher = DependencyBatcher()
    private let clustering: EagerClustering
    private let clock: any WallClock
    private let counters: WritePathCounters

    init(engine: any MemoryEngine, clustering: EagerClustering, clock: any WallClock, counters: WritePathCounters) {
        self.engine = engine
        self.clustering = clustering
        self.clock = clock
        self.counters = counters
    }

    func commit(_ op: QueuedOp) -> Result<OpOutcome, MemoryError> {
        commit([op], stops: [nil])[0]
    }

    /// The eager baseline's commits: one per operation, in order. `stops` as for
    /// ``BatchCommitter/commit(_:stops:)``.
    func commit(_ ops: [QueuedOp], stops: [StopMark?]) -> [Result<OpOutcome, MemoryError>] {
        zip(ops, stops).map { op, stop in
            if let stop, stop.stopped { return .failure(StopMark.skipped) }
            let r = commitEach([op])[0]
            if case .failure = r { stop?.stop() }
            return r
        }
    }

    private func commitEach(_ ops: [QueuedOp]) -> [Result<OpOutcome, MemoryError>] {
        ops.map { op in
            // A write without a caller-given id is looked up again when another process stored
            // the same memory between the look-up and the commit (DuplicateContentError).
            for attempt in 1...OptimizedCommitter.maxAttempts {
                if let r = commitOne(op, last: attempt == OptimizedCommitter.maxAttempts) { return r }
            }
            return .failure(MemoryError(.storage, "internal: no commit attempt"))
        }
    }

    /// One attempt of one operation; nil when a ``DuplicateContentError`` stored nothing and
    /// it is not the `last`.
    private func commitOne(_ op: QueuedOp, last: Bool) -> Result<OpOutcome, MemoryError>? {
        do {
            let m: Memory
            let isWrite: Bool
            var hostAssigned = false
            switch op {
            case .write(var w, let callerID):
                if !callerID {
                    // The same content as a live memory: that memory is the write. Expired
                    // ones are gone: swept first, as the sweep would.
                    let found = try engine.memoriesWithSameContent(as: [w])[0]
                    if let live = found.first(where: { ($0.expiresAt ?? .infinity) > clock.now() }) {
                        counters.stats.withLock { $0.deduplicated += 1 }
                        counters.metrics.deduplicated.increment()
                        return .success(.deduplicated(live.id))
                    }
                    for old in found { try commitEagerDelete(old) }
                    hostAssigned = true
                }
                if let old = try engine.memory(id: w.id) {
                    if (old.expiresAt ?? .infinity) > clock.now() {
                        if callerID {
                            counters.stats.withLock { $0.rejected += 1 }
                            counters.metrics.rejected.increment()
                            return .failure(MemoryError(.invalid, "a memory with id \(w.id.debugDescription) already exists"))
                        }
                        repeat { w.id = counters.nextID() } while try engine.memory(id: w.id) != nil
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
            var planned = batcher.plan([isWrite ? .write(m) : .forget(m)])
            if hostAssigned { planned[0].batch.hostAssigned = [true] }
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
            let reinitialised = (try? clustering.recluster(goal: m.goal, around: m.concepts)) ?? 0
            counters.stats.withLock { s in
                s.commits += 1
                s.batches += 1
                if isWrite { s.writes += 1 } else { s.forgets += 1 }
                s.edgeOps += pairs + reinitialised
                s.edgeOpsUnbatched += pairs
                s.engineNanos += applied - start
            }
            counters.metrics.commit(
                writes: isWrite ? 1 : 0, forgets: isWrite ? 0 : 1, batches: 1, edgeOps: pairs + reinitialised, edgeOpsSaved: 0,
                engineNanos: applied - start, edgeWriteSavedNanos: 0)
            let live = (m.expiresAt ?? .infinity) > clock.now()
            return .success(isWrite ? .written(m.id) : .forgotten(live ? m.goal : nil))
        } catch is DuplicateContentError where !last {
            return nil
        } catch let e as MemoryError {
            return .failure(MemoryError(.storage, "commit failed, nothing of it was acknowledged: \(e.message)"))
        } catch {
            return .failure(MemoryError(.storage, "commit failed, nothing of it was acknowledged: \(error)"))
        }
    }

    /// Deletes an expired memory on the eager path (as the sweep would), re-clustering after.
    private func commitEagerDelete(_ m: Memory) throws {
        _ = try engine.apply(batcher.plan([.forget(m)]).map(\.batch))
        try clustering.recluster(goal: m.goal, around: m.concepts)
        counters.stats.withLock { $0.forgets += 1 }
        counters.metrics.forgets.increment()
    }
}
