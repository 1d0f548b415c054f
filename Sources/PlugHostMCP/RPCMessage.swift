import PlugHost

/// One JSON-RPC 2.0 message, checked against the envelope rules: what the dispatcher and the
/// HTTP transport act on.
package enum RPCMessage: Sendable {
    /// A request: it gets exactly one response (none when it is cancelled).
    case request(id: JSONValue, method: String, params: JSONValue?)
    /// A notification: it gets nothing.
    case notification(method: String, params: JSONValue?)
    /// A response to a request of ours. This server sends no requests: it is ignored.
    case response
    /// Not a JSON-RPC 2.0 message: answered with `-32600` (Invalid Request) and `id`, which is
    /// the message's own when it has a valid one, else null (as JSON-RPC 2.0 says).
    case invalid(id: JSONValue, reason: String)

    /// Checks `message`: an object with `"jsonrpc": "2.0"` and either a string `method` (with an
    /// `id`, a string or a number, for a request) or an `id` and one of `result` and `error`.
    package init(_ message: JSONValue) {
        guard case .object(let members) = message else {
            self = .invalid(id: .null, reason: "a message must be a JSON object (batches are not supported), got \(message.kind)")
            return
        }
        var version: JSONValue?
        var method: JSONValue?
        var id: JSONValue?
        var params: JSONValue?
        var hasResult = false
        var hasError = false
        for m in members {
            switch m.key {
            case "jsonrpc": version = m.value
            case "method": method = m.value
            case "id": id = m.value
            case "params": params = m.value
            case "result": hasResult = true
            case "error": hasError = true
            default: break
            }
        }
        // MCP, unlike plain JSON-RPC, does not allow a null request id.
        var usableID: JSONValue = .null
        switch id {
        case .string?, .number?: usableID = id!
        case nil: break
        case .null? where method == nil: break  // a response to a request whose id was unreadable
        case let other?:
            self = .invalid(id: .null, reason: "id must be a string or a number, got \(other.kind)")
            return
        }
        guard case .string("2.0")? = version else {
            let got = version.map { "\($0.description)" } ?? "none"
            self = .invalid(id: usableID, reason: "jsonrpc must be \"2.0\", got \(got)")
            return
        }
        switch method {
        case .string(let name)?:
            self = id == nil ? .notification(method: name, params: params) : .request(id: usableID, method: name, params: params)
        case let other?:
            self = .invalid(id: usableID, reason: "method must be a string, got \(other.kind)")
        case nil where id != nil && hasResult != hasError:
            self = .response
        case nil:
            self = .invalid(
                id: usableID,
                reason: "a message needs a method (a request or a notification) or an id with a result or an error (a response)")
        }
    }

    /// The request's progress token (`params._meta.progressToken`, a string or a number).
    package var progressToken: JSONValue? {
        guard case .request(_, _, .object(let p)?) = self,
            case .object(let meta)? = p.last(where: { $0.key == "_meta" })?.value,
            let token = meta.last(where: { $0.key == "progressToken" })?.value
        else { return nil }
        switch token {
        case .string, .number: return token
        default: return nil
        }
    }
}

extension JSONValue {
    /// The JSON type's name, for messages.
    fileprivate var kind: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array, .integers: "an array"
        case .object: "an object"
        case .other(let t): t
        }
    }
}
