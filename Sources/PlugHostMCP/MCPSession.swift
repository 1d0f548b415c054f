import Foundation
import PlugHost
import Synchronization

/// One client's session: its goal, its running requests (by id, so that the client can cancel
/// them) and when it was last used. Over stdio there is one; over HTTP one per `Mcp-Session-Id`.
public final class MCPSession: Sendable {
    /// The session id (HTTP's `Mcp-Session-Id`; a fresh UUID over stdio).
    public let id: String
    /// The goal a call uses when it names none.
    public let goal: String

    private struct State {
        /// Running requests by their id's JSON text; a request leaves when it ends or is cancelled.
        var running: [String: Exchange] = [:]
        /// Requests whose work has not finished (a cancelled one still runs until its call returns).
        var busy = 0
        var lastUsed = ContinuousClock.now
    }
    private let state = Mutex(State())

    public init(id: String = UUID().uuidString, goal: String) {
        self.id = id
        self.goal = goal
    }

    /// Registers a request that starts running; false when a running request has that id.
    func begin(_ requestID: String, _ exchange: Exchange) -> Bool {
        state.withLock { s in
            guard s.running[requestID] == nil else { return false }
            s.running[requestID] = exchange
            s.busy += 1
            return true
        }
    }

    /// The request's work finished: it is no longer running (unless a later request took its id).
    func end(_ requestID: String, _ exchange: Exchange) {
        state.withLock { s in
            if s.running[requestID] === exchange { s.running[requestID] = nil }
            s.busy -= 1
            s.lastUsed = .now
        }
    }

    /// Cancels the running request with this id: it ends without a response. An unknown or
    /// finished id is ignored (cancellations race responses).
    func cancel(_ requestID: String) {
        let exchange = state.withLock { $0.running.removeValue(forKey: requestID) }
        exchange?.cancel()
    }

    /// How many requests are running (cancelled ones whose work goes on not counted).
    var runningCount: Int { state.withLock { $0.running.count } }

    /// Marks the session as used now.
    func touch() { state.withLock { $0.lastUsed = .now } }

    /// Whether nothing ran in the session for longer than `idle` (a running request keeps it in use).
    func isIdle(longerThan idle: Duration, now: ContinuousClock.Instant = .now) -> Bool {
        state.withLock { $0.busy == 0 && now - $0.lastUsed > idle }
    }
}
