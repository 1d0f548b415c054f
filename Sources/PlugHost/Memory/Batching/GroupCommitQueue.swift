import Foundation

/// An operation submitted to the write queue.
enum QueuedOp: Sendable {
    case write(Memory, callerID: Bool)
    case forget(id: String, goal: String?)
}

/// What an acknowledged operation gave back.
enum OpOutcome: Sendable {
    case written(String)
    /// The goal of the memory removed, or nil when there was none (or it had expired).
    case forgotten(String?)
}

/// A single writer queue with group commit: callers block until their operations are committed;
/// whoever finds no commit under way becomes the committer and takes everything waiting (up to
/// `maxOps`) into one commit. Back-to-back and concurrent writes therefore share commits.
final class GroupCommitQueue: @unchecked Sendable {
    private struct Item {
        let op: QueuedOp
        let ticket: Int
    }

    // All mutable state is guarded by `condition`.
    private let condition = NSCondition()
    private var queue: [Item] = []
    private var head = 0
    private var results: [Int: Result<OpOutcome, MemoryError>] = [:]
    private var nextTicket = 0
    private var committing = false
    private let maxOps: Int
    private let commit: @Sendable ([QueuedOp]) -> [Result<OpOutcome, MemoryError>]
    private let commitOne: @Sendable (QueuedOp) -> Result<OpOutcome, MemoryError>

    /// `commit` commits operations in order; `commitOne` commits a single one (the common case
    /// of one writer, without the arrays).
    init(
        maxOps: Int, commit: @escaping @Sendable ([QueuedOp]) -> [Result<OpOutcome, MemoryError>],
        commitOne: @escaping @Sendable (QueuedOp) -> Result<OpOutcome, MemoryError>
    ) {
        self.maxOps = max(1, maxOps)
        self.commit = commit
        self.commitOne = commitOne
    }

    /// Submits one operation and returns its result once committed. With no commit under way
    /// and nothing waiting, the caller commits it at once, without going through the queue.
    func submit(_ op: QueuedOp) -> Result<OpOutcome, MemoryError> {
        condition.lock()
        guard !committing && head == queue.count else {
            condition.unlock()
            return submit([op])[0]
        }
        committing = true
        condition.unlock()
        let r = commitOne(op)
        condition.lock()
        committing = false
        condition.broadcast()
        condition.unlock()
        return r
    }

    /// Submits `ops` and returns their results once committed (or failed), in order.
    func submit(_ ops: [QueuedOp]) -> [Result<OpOutcome, MemoryError>] {
        guard !ops.isEmpty else { return [] }
        condition.lock()
        let first = nextTicket
        for op in ops {
            queue.append(Item(op: op, ticket: nextTicket))
            nextTicket += 1
        }
        let last = nextTicket - 1
        while true {
            // Commits are FIFO, so the last ticket done means all of ours are.
            if results[last] != nil {
                let out = (first...last).map { results.removeValue(forKey: $0)! }
                condition.unlock()
                return out
            }
            if !committing {
                committing = true
                let end = min(queue.count, head + maxOps)
                let take = Array(queue[head..<end])
                head = end
                if head == queue.count {
                    queue.removeAll(keepingCapacity: true)
                    head = 0
                } else if head > 4096 {
                    queue.removeFirst(head)
                    head = 0
                }
                condition.unlock()
                let outcome = commit(take.map(\.op))
                condition.lock()
                for (item, r) in zip(take, outcome) { results[item.ticket] = r }
                committing = false
                condition.broadcast()
                continue
            }
            condition.wait()
        }
    }
}
