import Foundation

/// Admits operations until it is closed; closing waits for the admitted ones to finish.
///
/// Every ``PlugHostRuntime`` operation runs inside ``run(_:_:)``. ``beginClose()`` stops new
/// operations at once (they throw ``EmbeddingError/closed(_:)``) and then blocks until those
/// already running returned, so that the runtime's flush and close see no concurrent call.
/// Blocking: call it only off Swift's cooperative pool.
final class OperationGate: @unchecked Sendable {
    private enum State { case open, closing, closed }
    // Guarded by `condition`.
    private let condition = NSCondition()
    private var state = State.open
    private var inFlight = 0

    /// True once closing began.
    var isClosed: Bool {
        condition.lock()
        defer { condition.unlock() }
        return state != .open
    }

    /// Runs `body` as an admitted operation, or throws ``EmbeddingError/closed(_:)`` without
    /// running it when closing began.
    func run<T>(_ operation: String, _ body: () throws -> T) throws -> T {
        condition.lock()
        guard state == .open else {
            condition.unlock()
            throw EmbeddingError.closed(operation)
        }
        inFlight += 1
        condition.unlock()
        defer {
            condition.lock()
            inFlight -= 1
            if inFlight == 0 { condition.broadcast() }
            condition.unlock()
        }
        return try body()
    }

    /// Stops admitting operations and waits until none is running. Returns true when the
    /// caller is the one closing (it must call ``finishClose()`` when done); false when
    /// another caller closed or is closing, in which case this waits until that close ended.
    func beginClose() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard state == .open else {
            while state != .closed { condition.wait() }
            return false
        }
        state = .closing
        while inFlight > 0 { condition.wait() }
        return true
    }

    /// Marks the close done and wakes the callers waiting in ``beginClose()``.
    func finishClose() {
        condition.lock()
        state = .closed
        condition.broadcast()
        condition.unlock()
    }
}
