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
    /// A write without a caller-given id equal to a live memory: that memory's id; nothing was
    /// stored.
    case deduplicated(String)
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
final class GroupCommitQueue: Sendable {
    /// One `submit` call waiting for its results. Its results are written by the committing
    /// leader and read by its caller once complete.
    private final class Waiter: Sendable {
        let semaphore = DispatchSemaphore(value: 0)
        /// Operations of the submission.
        let count: Int
        /// Set when the submission stops at its first failure.
        let stop: StopMark?
        private let slots: Mutex<(results: [Result<OpOutcome, MemoryError>?], remaining: Int)>
        init(count: Int, stop: StopMark? = nil) {
            self.count = count
            self.stop = stop
            slots = Mutex((results: Array(repeating: nil, count: count), remaining: count))
        }
        /// Stores the result of operation `index`; true when it was the last one missing.
        func deliver(_ result: Result<OpOutcome, MemoryError>, at index: Int) -> Bool {
            slots.withLock { s in
                s.results[index] = result
                s.remaining -= 1
                return s.remaining == 0
            }
        }
        /// The results once every one is in, else nil.
        var results: [Result<OpOutcome, MemoryError>]? {
            slots.withLock { s in s.remaining == 0 ? s.results.compactMap { $0 } : nil }
        }
    }

    private struct Item: Sendable {
        let op: QueuedOp
        let waiter: Waiter
        let index: Int
    }

    /// Seconds without a new submission after which a piling leader stops waiting.
    static let idleGap = 0.000_2
    /// Most seconds a leader waits for submissions to pile up.
    static let maxPile = 0.002

    /// The queue's mutable state, all under one lock.
    private struct State: Sendable {
        var queue: [Item] = []
        var head = 0
        /// Submissions with operations in `queue[head...]`.
        var queuedSubmissions = 0
        /// Submissions ever made (arrival counter, for the idle gap).
        var arrivals = 0
        /// The leader (committing, or piling up, or woken to lead), if any.
        var leader: Waiter?
        /// True while the leader waits for submissions to pile up.
        var piling = false
        /// True once the piling leader was signalled that its target is reached.
        var pileSignalled = false
        /// Submissions the next leader expects before it takes the queue.
        var expected = 1

        /// True when the queue holds what the leader waits for.
        func pileReached(_ maxOps: Int) -> Bool {
            queuedSubmissions >= expected || queue.count - head >= maxOps
        }

        /// Hands the leadership to the oldest caller still queued (signalled unless it is
        /// `me`), or to nobody.
        mutating func passLeadership(from me: Waiter?) {
            if head < queue.count {
                let next = queue[head].waiter
                leader = next
                if next !== me { next.semaphore.signal() }
            } else {
                leader = nil
            }
        }
    }

    private let state = Mutex(State())
    private let maxOps: Int
    /// Commits what the queue takes (the write path's commit stage).
    private let committer: any BatchCommitter
    /// Stands for a caller committing alone through `submit(_ op:)` (one at a time: it is the
    /// leader meanwhile).
    private let solo = Waiter(count: 0)

    /// `committer` commits the operations taken, in order (see ``BatchCommitter``).
    init(maxOps: Int, committer: any BatchCommitter) {
        self.maxOps = max(1, maxOps)
        self.committer = committer
    }

    /// Submits one operation and returns its result once committed. With no leader and nothing
    /// queued, the caller commits it at once through ``BatchCommitter/commit(_:)``, without the
    /// queue's arrays; callers arriving meanwhile queue up, and the oldest of them leads next.
    func submit(_ op: QueuedOp) -> Result<OpOutcome, MemoryError> {
        let alone = state.withLock { s -> Bool in
            guard s.leader == nil, s.head == s.queue.count else { return false }
            s.leader = solo
            return true
        }
        guard alone else { return submit([op])[0] }
        let r = committer.commit(op)
        state.withLock { s in
            s.expected = max(1, 1 + s.queuedSubmissions)
            s.passLeadership(from: nil)
        }
        return r
    }

    /// What a submitting caller does next.
    private enum Step { case done([Result<OpOutcome, MemoryError>]), lead, wait }

    /// Submits `ops` and returns their results once committed (or failed), in order. With
    /// `stopAtFirstFailure`, the operations after the first one that fails are not applied
    /// (``StopMark``); without, a failed operation never affects the others.
    func submit(_ ops: [QueuedOp], stopAtFirstFailure: Bool = false) -> [Result<OpOutcome, MemoryError>] {
        guard !ops.isEmpty else { return [] }
        let me = Waiter(count: ops.count, stop: stopAtFirstFailure ? StopMark() : nil)
        var step = state.withLock { s -> Step in
            for (i, op) in ops.enumerated() { s.queue.append(Item(op: op, waiter: me, index: i)) }
            s.queuedSubmissions += 1
            s.arrivals += 1
            if s.leader == nil {
                s.leader = me
                return .lead
            }
            if s.piling, !s.pileSignalled, s.pileReached(maxOps) {
                s.pileSignalled = true
                s.leader?.semaphore.signal()
            }
            return .wait
        }
        while true {
            switch step {
            case .done(let results): return results
            case .lead: lead(me)
            case .wait: me.semaphore.wait()
            }
            // Only the leader changes the leadership (or a submitter finding none): what is
            // read here stays true until this caller acts on it.
            step = state.withLock { s -> Step in
                if let results = me.results { return .done(results) }
                return s.leader === me ? .lead : .wait
            }
        }
    }

    /// One commit led by `me`: pile up, take, commit, deliver, pass the leadership on.
    private func lead(_ me: Waiter) {
        let pile = state.withLock { s -> Int? in
            guard !s.pileReached(maxOps) else { return nil }
            s.piling = true
            s.pileSignalled = false
            return s.arrivals
        }
        var consumed = false
        if var seen = pile {
            let start = DispatchTime.now().uptimeNanoseconds
            while true {
                if me.semaphore.wait(timeout: .now() + Self.idleGap) == .success {
                    // Only a piling leader is signalled: this is the target signal.
                    consumed = true
                    break
                }
                let stop = state.withLock { s -> Bool in
                    if s.arrivals == seen { return true }  // idle: nobody else is coming soon
                    seen = s.arrivals
                    if Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 >= Self.maxPile { return true }
                    return s.pileReached(maxOps)
                }
                if stop { break }
            }
        }
        let (take, pendingSignal) = state.withLock { s -> ([Item], Bool) in
            // A target signal sent while the wait timed out is still on the semaphore (it was
            // sent under the lock, and none is sent once `piling` is off): taken below so that
            // it cannot end a later wait early.
            let pendingSignal = pile != nil && s.pileSignalled && !consumed
            s.piling = false
            s.pileSignalled = false
            let end = min(s.queue.count, s.head + maxOps)
            let take = Array(s.queue[s.head..<end])
            s.head = end
            // Submissions fully taken leave the queued count; a split one stays queued.
            s.queuedSubmissions -= take.reduce(0) { $0 + ($1.index == $1.waiter.count - 1 ? 1 : 0) }
            if s.head == s.queue.count {
                s.queue.removeAll(keepingCapacity: true)
                s.head = 0
            } else if s.head > 4096 {
                s.queue.removeFirst(s.head)
                s.head = 0
            }
            return (take, pendingSignal)
        }
        if pendingSignal { me.semaphore.wait() }
        let outcome = committer.commit(take.map(\.op), stops: take.map(\.waiter.stop))
        state.withLock { s in
            var released = 0
            for (item, r) in zip(take, outcome) {
                let w = item.waiter
                if w.deliver(r, at: item.index) {
                    released += 1
                    if w !== me { w.semaphore.signal() }
                }
            }
            // The next cycle expects the callers just released back, plus those still queued.
            s.expected = max(1, released + s.queuedSubmissions)
            s.passLeadership(from: me)
        }
    }
}
