import Synchronization

/// One request's way back to its client: notifications while it runs, then exactly one end (its
/// response, or ``MCPServer/Output/cancelled`` when the client cancelled it), and nothing after
/// that end.
///
/// Every output is handed to the transport under one lock, with the end flag checked under it: a
/// progress tick that races the response either goes out before it or not at all.
final class Exchange: Sendable {
    private let ended = Mutex<Bool>(false)
    private let emit: @Sendable (MCPServer.Output) -> Void

    init(emit: @escaping @Sendable (MCPServer.Output) -> Void) { self.emit = emit }

    /// Whether the request has ended (answered or cancelled).
    var isEnded: Bool { ended.withLock { $0 } }

    /// Sends a notification about the request, unless it has ended.
    func notify(_ text: String) {
        ended.withLock { ended in
            if !ended { emit(.notification(text)) }
        }
    }

    /// Ends the request with its response; false (and nothing sent) when it had ended.
    @discardableResult
    func respond(_ text: String) -> Bool { end(.response(text)) }

    /// Ends the request without a response; false when it had ended.
    @discardableResult
    func cancel() -> Bool { end(.cancelled) }

    private func end(_ output: MCPServer.Output) -> Bool {
        ended.withLock { ended in
            guard !ended else { return false }
            ended = true
            emit(output)
            return true
        }
    }
}
