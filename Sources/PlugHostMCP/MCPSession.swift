import Foundation
import PlugHost
import Synchronization

/// One client's session: its goal and its running requests (by id, so that the client can
/// cancel them). Over stdio there is one; over HTTP one per `Mcp-Session-Id`.
public final class MCPSession: Sendable {
    /// The session id (HTTP's `Mcp-Session-Id`; a fresh UUID over stdio).
    public let id: String
    /// The goal a call uses when it names none.
    public let goal: String
    /// Running requests by their id's JSON text; a request leaves when it ends or is cancelled.
    private let running = Mutex<[String: Exchange]>([:])

    public init(id: String = UUID().uuidString, goal: String) {
        self.id = id
        self.goal = goal
    }

    /// Registers a request that starts running; false when a running request has that id.
    func begin(_ requestID: String, _ exchange: Exchange) -> Bool {
        running.withLock { running in
            guard running[requestID] == nil else { return false }
            running[requestID] = exchange
            return true
        }
    }

    /// The request's work finished: it is no longer running (unless a later request took its id).
    func end(_ requestID: String, _ exchange: Exchange) {
        running.withLock { running in
            if running[requestID] === exchange { running[requestID] = nil }
        }
    }

    /// Cancels the running request with this id: it ends without a response. An unknown or
    /// finished id is ignored (cancellations race responses).
    func cancel(_ requestID: String) {
        let exchange = running.withLock { $0.removeValue(forKey: requestID) }
        exchange?.cancel()
    }

    /// How many requests are running (cancelled ones whose work goes on not counted).
    var runningCount: Int { running.withLock { $0.count } }
}
