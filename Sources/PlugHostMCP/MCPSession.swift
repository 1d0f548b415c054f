import Foundation
import PlugHost
import Synchronization

/// One client's session: its negotiated protocol version, its goal, and the requests it
/// cancelled. Over stdio there is one; over HTTP one per `Mcp-Session-Id`.
public final class MCPSession: Sendable {
    /// The session id (HTTP's `Mcp-Session-Id`; a fresh UUID over stdio).
    public let id: String
    /// The goal a call uses when it names none.
    public let goal: String
    private let state = Mutex<State>(State())

    private struct State {
        var protocolVersion: String?
        var cancelled: Set<String> = []
    }

    public init(id: String = UUID().uuidString, goal: String) {
        self.id = id
        self.goal = goal
    }

    /// The protocol version agreed at `initialize`, or nil before it.
    public var protocolVersion: String? {
        get { state.withLock { $0.protocolVersion } }
        set { state.withLock { $0.protocolVersion = newValue } }
    }

    func cancel(_ requestID: String) { _ = state.withLock { $0.cancelled.insert(requestID) } }
    /// Whether the request was cancelled (and forgets it).
    func takeCancelled(_ requestID: String) -> Bool { state.withLock { $0.cancelled.remove(requestID) != nil } }
}
