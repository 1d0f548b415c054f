import Foundation
import PlugHost
import Synchronization

/// One client's session: its goal and the requests it cancelled. Over stdio there is one; over
/// HTTP one per `Mcp-Session-Id`.
public final class MCPSession: Sendable {
    /// The session id (HTTP's `Mcp-Session-Id`; a fresh UUID over stdio).
    public let id: String
    /// The goal a call uses when it names none.
    public let goal: String
    private let cancelled = Mutex<Set<String>>([])

    public init(id: String = UUID().uuidString, goal: String) {
        self.id = id
        self.goal = goal
    }

    func cancel(_ requestID: String) { _ = cancelled.withLock { $0.insert(requestID) } }
    /// Whether the request was cancelled (and forgets it).
    func takeCancelled(_ requestID: String) -> Bool { cancelled.withLock { $0.remove(requestID) != nil } }
}
