import PlugHostCore
import Synchronization

@testable import PlugHostMCP

/// The last output a request emitted, as text.
final class Reply: Sendable {
    private let last = Mutex<String?>(nil)
    var text: String? { last.withLock { $0 } }
    func set(_ output: MCPServer.Output) {
        if case .response(let t) = output { last.withLock { $0 = t } }
    }
}

extension JSONValue {
    /// An object's members by key (the last of a repeated key).
    var members: [String: JSONValue] {
        guard case .object(let m) = self else { return [:] }
        return Dictionary(m.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
    }
}
