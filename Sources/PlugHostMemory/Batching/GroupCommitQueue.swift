import Dispatch
import Foundation
import Synchronization
import PlugHostCore

/// An operation submitted to the write queue.
enum QueuedOp: Sendable {
    case write(Memory, callerID: Bool)
    case forget(id: String, goal: String?)
}

/// Ties together the operations of one submission made with `stopAtFirstFailure`: once one of
/// them fails (rejected, or its commit failed), every later one is skipped with
/// ``MemoryError/Code/notApplied``, in this commit and in later ones.
///
/// **Why a mark per submission.** The queue merges several submissions into one commit and
/// may split one submission over several commits (at `maxOps`, and always in the eager
/// baseline, which commits one operation at a time). A rejection that only the commit can
/// find (a caller id already stored, or written earlier in the same commit) must cut the
/// operations of *its* submission only, wherever they land: the commit walks its operations
/// in order, skips those whose mark is set, and sets the mark when one fails. Commits run one
/// at a time and a submission's operations are queued contiguously and in order, so every
/// operation after the failed one, and none before it nor of another submission, is skipped.
final class StopMark: Sendable {
    private let flag = Atomic<Bool>(false)
    init() {}
    /// True once an operation of the submission failed.
    var stopped: Bool { flag.load(ordering: .acquiring) }
    /// Records that an operation of the submission failed.
    func stop() { flag.store(true, ordering: .releasing) }

    /// The result of an operation skipped because an earlier one of its submission failed.
    static let skipped = MemoryError(
        .notApplied, "not applied: an earlier operation of the same submission failed, and the submission stops at its first failure")
}

/// What an acknowledged operation gave back.
enum OpOutcome: Sendable {
    case written(String)
    /// The goal of the memory removed, or nil when there was none (or it had expired).
    case forgotten(String?)
}

/// A single writer queue with group commit: callers block until their operations are committed.
/// One caller at a time is the *leader*: it takes everything waiting (up to `maxOps`) into one
/// commit, runs it, hands each waiting caller its results, and hands the leadership to the
/// oldest caller still queued. Back-to-back and concurrent writes therefore share commits.
///
/// **Wake-ups.** Every submission waits on its own semaphore and is woken once when its results
/// are in (or when it becomes leader): a commit wakes the callers it completed and at most one
/// new leader, never every waiting thread (a broadcast to 64 waiters per commit cost more
/// than the commit on two cores).
///
/// **Piling up.** A new leader waits, briefly, for the callers the previous commit released to
/// come back with their next operations before it takes the queue: it expects as many
/// submissions as were in the last cycle (released plus still queued) and takes the queue as
/// soon as that many are queued, `maxOps` operations are, no new submission arrived for
/// ``idleGap`` seconds, or ``maxPile`` seconds passed. A lone writer (cycle of one) never
/// waits; 64 writers share commits of ~64 instead of taking turns with commits of a few.
final class GroupCommitQueue: @unchecked Sendable {
    /// One `submit` call waiting for its results.
    private final class Waiter {
        let semaphore = DispatchSemaphore(value: 0)
        var results: [Result<OpOutcome, MemoryError>?]
        var remaining: Int
        /// Set when the submission stops at its first failure.
        let stop: StopMark?
        init(count: Int, stop: StopMark? = nil) {
            results = Array(repeating: nil, count: count)
            remaining = count
            self.stop = stop
        }
    }

    private struct Item {
        let op: QueuedOp
        let waiter: Waiter
        let index: Int
    }

    /// Seconds without a new submission after which a piling leader stops waiting.
    static let idleGap = 0.000_2
    /// Most seconds a leader waits for submissions to pile up.
    static let maxPile = 0.002

    // All mutable state is guarded by `lock`.
    private let lock = NSLock()
    private var queue: [Item] = []
    private var head = 0
    /// Submissions with operations in `queue[head...]`.
    private var queuedSubmissions = 0
    /// Submissions ever made (arrival counter, for the idle gap).
    private var arrivals = 0
    /// The leader (committing, or piling up, or woken to lead), if any.
    private var leader: Waiter?
    /// True while the leader waits for submissions to pile up.
    private var piling = false
    /// True once the piling leader was signalled that its target is reached.
    private var pileSignalled = false
    /// Submissions the next leader expects before it takes the queue.
    private var expected = 1
    private let maxOps: Int
    private let commit: @Sendable ([QueuedOp], [StopMark?]) -> [Result<OpOutcome, MemoryError>]
    private let commitOne: @Sendable (QueuedOp) -> Result<OpOutcome, MemoryError>
    /// Stands for a caller committing alone through `submit(_ op:)` (one at a time: it is the
    /// leader meanwhile).
    private let solo = Waiter(count: 0)

    /// `commit` commits operations in order, each with the stop mark of its submission (see
    /// ``StopMark``: it must skip an operation whose mark is set, and set the mark of one that
    /// fails); `commitOne` commits a single one (the common case of one writer, without the
    /// arrays).
    init(
        maxOps: Int, commit: @escaping @Sendable ([QueuedOp], [StopMark?]) -> [Result<OpOutcome, MemoryError>],
        commitOne: @escaping @Sendable (QueuedOp) -> Result<OpOutcome, MemoryError>
    ) {
        self.maxOps = max(1, maxOps)
        self.commit = commit
        self.commitOne = commitOne
    }

    /// Submits one operation and returns its result once committed. With no leader and nothing
    /// queued, the caller commits it at once through `commitOne`, without the queue's arrays;
    /// callers arriving meanwhile queue up, and the oldest of them leads next.
    func submit(_ op: QueuedOp) -> Result<OpOutcome, MemoryError> {
        lock.lock()
        guard leader == nil, head == queue.count else {
            lock.unlock()
            return submit([op])[0]
        }
        leader = solo
        lock.unlock()
        let r = commitOne(op)
        lock.lock()
        expected = max(1, 1 + queuedSubmissions)
        if head < queue.count {
            let next = queue[head].waiter
            leader = next
            next.semaphore.signal()
        } else {
            leader = nil
        }
        lock.unlock()
        return r
    }

    /// Submits `ops` and returns their results once committed (or failed), in order. With
    /// `stopAtFirstFailure`, the operations after the first one that fails are not applied
    /// (``StopMark``); without, a failed operation never affects the others.
    func submit(_ ops: [QueuedOp], stopAtFirstFailure: Bool = false) -> [Result<OpOutcome, MemoryError>] {
        guard !ops.isEmpty else { return [] }
        let me = Waiter(count: ops.count, stop: stopAtFirstFailure ? StopMark() : nil)
        lock.lock()
        for (i, op) in ops.enumerated() { queue.append(Item(op: op, waiter: me, index: i)) }
        queuedSubmissions += 1
        arrivals += 1
        if leader == nil {
            leader = me
        } else if piling, !pileSignalled, pileReached() {
            pileSignalled = true
            leader!.semaphore.signal()
        }
        while true {
            if me.remaining == 0 {
                lock.unlock()
                return me.results.map { $0! }
            }
            if leader === me {
                lead(me) // returns with the lock held
                continue
            }
            lock.unlock()
            me.semaphore.wait()
            lock.lock()
        }
    }

    /// True when the queue holds what the leader waits for. Lock held.
    private func pileReached() -> Bool {
        queuedSubmissions >= expected || queue.count - head >= maxOps
    }

    /// One commit led by `me`: pile up, take, commit, deliver, pass the leadership on.
    /// Called and returns with the lock held.
    private func lead(_ me: Waiter) {
        if !pileReached() {
            piling = true
            pileSignalled = false
            let start = DispatchTime.now().uptimeNanoseconds
            var seen = arrivals
            var consumed = false
            while !pileReached() {
                lock.unlock()
                let woken = me.semaphore.wait(timeout: .now() + Self.idleGap) == .success
                lock.lock()
                if woken {
                    // Only a piling leader is signalled: this is the target signal.
                    consumed = true
                    break
                }
                if arrivals == seen { break } // idle: nobody else is coming soon
                seen = arrivals
                if Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 >= Self.maxPile { break }
            }
            piling = false
            // A target signal sent while the wait timed out is still on the semaphore (it was
            // sent under the lock, so it is there now): take it so that it cannot end a later
            // wait early.
            if pileSignalled && !consumed { me.semaphore.wait() }
            pileSignalled = false
        }
        let end = min(queue.count, head + maxOps)
        let take = Array(queue[head..<end])
        head = end
        // Submissions fully taken leave the queued count; a split one stays queued.
        queuedSubmissions -= take.reduce(0) { $0 + ($1.index == $1.waiter.results.count - 1 ? 1 : 0) }
        if head == queue.count {
            queue.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 4096 {
            queue.removeFirst(head)
            head = 0
        }
        lock.unlock()
        let outcome = commit(take.map(\.op), take.map(\.waiter.stop))
        lock.lock()
        var released = 0
        for (item, r) in zip(take, outcome) {
            let w = item.waiter
            w.results[item.index] = r
            w.remaining -= 1
            if w.remaining == 0 {
                released += 1
                if w !== me { w.semaphore.signal() }
            }
        }
        // The next cycle expects the callers just released back, plus those still queued.
        expected = max(1, released + queuedSubmissions)
        if head < queue.count {
            let next = queue[head].waiter
            leader = next
            if next !== me { next.semaphore.signal() }
        } else {
            leader = nil
        }
    }
}
