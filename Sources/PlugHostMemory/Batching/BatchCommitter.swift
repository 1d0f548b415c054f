import Synchronization
import PlugHostCore

/// The commit stage as the ``GroupCommitQueue`` sees it: whoever leads a commit hands it what
/// it took. The optimized path's committer is ``OptimizedCommitter`` (dependency batching,
/// lazy clustering), the eager baseline's ``EagerCommitter`` (one commit per operation, full
/// re-clustering). Chosen once, when the write path is built.
protocol BatchCommitter: Sendable {
    /// Commits `ops` in order, each with the stop mark of its submission (see ``StopMark``):
    /// an operation whose mark is set is skipped, and one that fails sets its mark.
    func commit(_ ops: [QueuedOp], stops: [StopMark?]) -> [Result<OpOutcome, MemoryError>]
    /// Commits one operation (the common case of one writer, without the arrays).
    func commit(_ op: QueuedOp) -> Result<OpOutcome, MemoryError>
}

/// What the stages of one write path count and share: the stats counters, their metrics and
/// the source of host-assigned memory ids.
final class WritePathCounters: Sendable {
    /// Counters the stages add to (the cache and the lazy clustering keep their own).
    let stats = Mutex(MemoryStats())
    /// The same events as swift-metrics metrics.
    let metrics = MemoryMetrics()
    private let idPrefix = String(UInt64.random(in: 0..<(1 << 40)), radix: 36)
    private let idCounter = Atomic<UInt64>(0)

    init() {}

    /// A new host-assigned memory id.
    func nextID() -> String {
        "m\(idPrefix)-\(idCounter.wrappingAdd(1, ordering: .relaxed).newValue)"
    }
}
