import Foundation
import PlugHost
import Synchronization

/// plughost's MCP server: JSON-RPC 2.0 messages in, replies out, over any transport.
///
/// It serves a ``ToolCatalog`` (plugin functions and memory tools) and, as resources, each
/// goal's clusters and the plugins' goal contexts. Requests run concurrently: a transport
/// hands each message to ``handle(_:session:emit:)`` on a thread of its choosing; quick ones
/// are answered at once, and those that block run on threads of the server's own (one per
/// running call, up to `maxConcurrentCalls`), for as long as the plugin takes. Protocol
/// versions 2024-11-05 through 2025-11-25 (the `initialize` handshake) are spoken.
public final class MCPServer: Sendable {
    /// The protocol versions this server speaks, newest last.
    public static let protocolVersions = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]
    /// The plugin name memory tools write under.
    public static let memoryPluginName = "mcp"
    /// The error code of a request refused because the server is shutting down (JSON-RPC's
    /// range for server errors).
    public static let shuttingDown = -32000

    /// What a request sends back: any number of notifications, then one end.
    public enum Output: Sendable {
        /// A notification about the request (progress): one line of JSON text without a newline.
        case notification(String)
        /// The request's response: one line of JSON text without a newline. It ends the request.
        case response(String)
        /// The client cancelled the request: it ends without a response (MCP: the receiver of
        /// a cancellation should not answer the request).
        case cancelled
    }

    public let host: PluginHost
    public let catalog: ToolCatalog
    /// How often a call that carries a progress token reports progress.
    public let progressInterval: Duration
    /// Whether `tools/list` gives each tool's `outputSchema`. Results always carry
    /// `structuredContent`; a schema makes clients validate every result against it, which
    /// costs the official Python client about 0.4 ms per call.
    public let outputSchemas: Bool
    private let version: String
    /// Set by ``drain(timeout:)``: requests are refused from then on.
    private let closing = Mutex<Bool>(false)
    /// Requests admitted and not yet ended.
    private let inflight = DispatchGroup()
    private let pool: CallPool

    /// `maxConcurrentCalls` bounds the requests that block at once (plugin calls, memory reads);
    /// further ones wait for one of them to end.
    public init(
        host: PluginHost, catalog: ToolCatalog, version: String, progressInterval: Duration = .milliseconds(250),
        outputSchemas: Bool = false, maxConcurrentCalls: Int = 64
    ) {
        self.outputSchemas = outputSchemas
        self.host = host
        self.catalog = catalog
        self.version = version
        self.progressInterval = progressInterval
        self.pool = CallPool(limit: maxConcurrentCalls)
    }

    /// Refuses new requests from now on (with error ``shuttingDown``), and waits until no
    /// admitted one is running, up to `timeout`; true when none is. Calling it again only waits.
    @discardableResult
    public func drain(timeout: Duration) -> Bool {
        closing.withLock { $0 = true }
        return waitForRunning(timeout: timeout)
    }

    /// Waits until no admitted request is running, up to `timeout`, without refusing new ones.
    func waitForRunning(timeout: Duration) -> Bool {
        inflight.wait(timeout: .now() + timeout.dispatchInterval) == .success
    }

    /// Parses `bytes` as one JSON-RPC message and handles it (see
    /// ``handle(message:session:emit:)``); a parse error is answered with `-32700` and id null.
    public func handle(_ bytes: UnsafeRawBufferPointer, session: MCPSession, emit: @escaping @Sendable (Output) -> Void) {
        let message: JSONValue
        do {
            message = try JSONReader.parse(bytes: bytes.bindMemory(to: UInt8.self))
        } catch {
            emit(.response(Self.error(id: .null, code: -32700, "parse error: \(error)")))
            return
        }
        handle(RPCMessage(message), session: session, emit: emit)
    }

    /// Handles one parsed message, checked as an ``RPCMessage`` first.
    package func handle(message: JSONValue, session: MCPSession, emit: @escaping @Sendable (Output) -> Void) {
        handle(RPCMessage(message), session: session, emit: emit)
    }

    /// Handles one message. A request's outputs go to `emit`, in order: notifications, then one
    /// ``Output/response(_:)`` or ``Output/cancelled``. Quick requests are answered on the
    /// calling thread before this returns; those that block (`tools/call`, `resources/list`,
    /// `resources/read`) run on the server's threads and emit from there. An invalid message
    /// gets a `-32600` response; a notification or a response gets nothing.
    package func handle(_ message: RPCMessage, session: MCPSession, emit: @escaping @Sendable (Output) -> Void) {
        let id: JSONValue
        let method: String
        let params: JSONValue?
        switch message {
        case .invalid(let badID, let reason):
            emit(.response(Self.error(id: badID, code: -32600, "invalid request: \(reason)")))
            return
        case .response:
            return  // we send no requests
        case .notification(let name, let p):
            notification(name, p, session: session)
            return
        case .request(let rid, let name, let p):
            (id, method, params) = (rid, name, p)
        }
        let admitted = closing.withLock { closing -> Bool in
            guard !closing else { return false }
            inflight.enter()
            return true
        }
        guard admitted else {
            emit(.response(Self.error(id: id, code: Self.shuttingDown, "the server is shutting down")))
            return
        }
        let args: [String: JSONValue]
        switch params {
        case .object(let p)?: args = Dictionary(p.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
        case nil: args = [:]
        default:
            emit(.response(Self.error(id: id, code: -32602, "params must be an object")))
            inflight.leave()
            return
        }
        switch method {
        case "tools/call", "resources/list", "resources/read":
            let key = Self.key(id)
            let exchange = Exchange(emit: emit)
            guard session.begin(key, exchange) else {
                emit(.response(Self.error(id: id, code: -32600, "invalid request: request id \(key) is in use by a running request")))
                inflight.leave()
                return
            }
            pool.run {
                defer { self.inflight.leave() }
                // A request cancelled while it waited for a thread does not run at all.
                let reply = exchange.isEnded ? nil : self.blocking(method, args, id: id, session: session, exchange: exchange)
                // Forget the id before answering, so that the client may use it again at once.
                session.end(key, exchange)
                if let reply { exchange.respond(reply) }
            }
        default:
            emit(.response(respond(method, args, id: id, session: session)))
            inflight.leave()
        }
    }

    private func notification(_ method: String, _ params: JSONValue?, session: MCPSession) {
        if method == "notifications/cancelled", case .object(let p)? = params,
            let rid = p.last(where: { $0.key == "requestId" })?.value
        {
            session.cancel(Self.key(rid))
        }
    }

    /// A request that may block, on a thread of the pool.
    private func blocking(_ method: String, _ p: [String: JSONValue], id: JSONValue, session: MCPSession, exchange: Exchange) -> String {
        switch method {
        case "tools/call": callTool(p, id: id, session: session, exchange: exchange)
        case "resources/list": listResources(id: id)
        default: readResource(p, id: id)
        }
    }

    private func respond(_ method: String, _ p: [String: JSONValue], id: JSONValue, session: MCPSession) -> String {
        switch method {
        case "initialize":
            var asked: String?
            if case .string(let v)? = p["protocolVersion"] { asked = v }
            let agreed = asked.flatMap { Self.protocolVersions.contains($0) ? $0 : nil } ?? Self.protocolVersions.last!
            return Self.result(id: id) { w in
                w.key("protocolVersion"); w.string(agreed)
                w.key("capabilities"); w.beginObject()
                w.key("tools"); w.beginObject(); w.key("listChanged"); w.bool(false); w.endObject()
                w.key("resources"); w.beginObject(); w.key("listChanged"); w.bool(false); w.endObject()
                w.endObject()
                w.key("serverInfo"); w.beginObject()
                w.key("name"); w.string("plughost")
                w.key("version"); w.string(version)
                w.endObject()
                w.key("instructions")
                w.string(
                    "plughost runs plugins as tools and keeps what they remember. Each call uses the session's goal (\(session.goal)) unless it names another with its goal argument (plughost_goal for a function that has a parameter named goal). memory_write/memory_recall/memory_forget/memory_clusters read and write that goal's memory."
                )
            }
        case "ping":
            return Self.result(id: id) { _ in }
        case "tools/list":
            return listTools(p, id: id)
        case "resources/templates/list":
            return Self.result(id: id) { w in
                w.key("resourceTemplates"); w.beginArray()
                for (uri, name, d) in [
                    ("plughost://goals/{goal}/clusters", "clusters", "A goal's concept clusters."),
                    ("plughost://goals/{goal}/contexts/{plugin}", "context", "A plugin's goal context (its key/value pairs)."),
                ] {
                    w.beginObject(); w.key("uriTemplate"); w.string(uri); w.key("name"); w.string(name)
                    w.key("description"); w.string(d); w.key("mimeType"); w.string("application/json"); w.endObject()
                }
                w.endArray()
            }
        default:
            return Self.error(id: id, code: -32601, "method not found: \(method)")
        }
    }

    // MARK: - Tools

    private static let pageSize = 100

    private func listTools(_ p: [String: JSONValue], id: JSONValue) -> String {
        var start = 0
        if case .string(let c)? = p["cursor"] {
            guard let n = Int(c), n >= 0, n <= catalog.tools.count else {
                return Self.error(id: id, code: -32602, "invalid cursor \(c.debugDescription)")
            }
            start = n
        }
        let end = min(start + Self.pageSize, catalog.tools.count)
        return Self.result(id: id) { w in
            w.key("tools"); w.beginArray()
            for t in catalog.tools[start..<end] { w.value(catalog.definition(t, .mcp, outputSchemas: outputSchemas)) }
            w.endArray()
            if end < catalog.tools.count { w.key("nextCursor"); w.string(String(end)) }
        }
    }

    private func callTool(_ p: [String: JSONValue], id: JSONValue, session: MCPSession, exchange: Exchange) -> String {
        guard case .string(let name)? = p["name"] else { return Self.error(id: id, code: -32602, "tools/call needs a name") }
        guard let tool = catalog.tool(named: name) else { return Self.error(id: id, code: -32602, "unknown tool \(name.debugDescription)") }
        var arguments: [JSONValue.Member] = []
        switch p["arguments"] {
        case .object(let a)?: arguments = a
        case nil, .null?: break
        default: return Self.error(id: id, code: -32602, "\(name): arguments must be an object")
        }
        var progress: JSONValue?
        if case .object(let meta)? = p["_meta"] { progress = meta.last { $0.key == "progressToken" }?.value }
        let call: ToolCall
        do {
            call = try ToolCall(tool, arguments: arguments, defaultGoal: session.goal)
        } catch let e as ToolCall.ArgumentError {
            return Self.error(id: id, code: -32602, e.message)
        } catch {
            return Self.error(id: id, code: -32602, "\(error)")
        }
        var timer: DispatchSourceTimer?
        if let progress, progress.isTokenLike {
            let started = ContinuousClock.now
            // A serial queue of the call's own: its ticks never overlap, and each goes through
            // the exchange, which sends nothing once the response went out.
            let t = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "plughost.mcp.progress"))
            t.schedule(deadline: .now() + progressInterval.dispatchInterval, repeating: progressInterval.dispatchInterval)
            t.setEventHandler {
                let seconds = (ContinuousClock.now - started) / .milliseconds(1) / 1000
                var w = JSONWriter()
                w.beginObject()
                w.key("jsonrpc"); w.string("2.0")
                w.key("method"); w.string("notifications/progress")
                w.key("params"); w.beginObject()
                w.key("progressToken"); w.value(progress)
                w.key("progress"); w.double((seconds * 1000).rounded() / 1000)
                w.key("message"); w.string("\(name) running for \(String(format: "%.1f", seconds)) s")
                w.endObject()
                w.endObject()
                exchange.notify(w.text)
            }
            t.resume()
            timer = t
        }
        let outcome = call.run(host: host)
        timer?.cancel()
        return Self.result(id: id) { w in
            w.key("content"); w.beginArray()
            if !outcome.text.isEmpty || outcome.isError {
                w.beginObject(); w.key("type"); w.string("text"); w.key("text"); w.string(outcome.text); w.endObject()
            }
            w.endArray()
            if let s = outcome.structured { w.key("structuredContent"); w.raw(s) }
            w.key("isError"); w.bool(outcome.isError)
        }
    }

    // MARK: - Resources

    private func listResources(id: JSONValue) -> String {
        let goals: [GoalClusters]
        do { goals = try host.memory.clusters() } catch { return Self.error(id: id, code: -32603, "listing the goals failed: \(error)") }
        return Self.result(id: id) { w in
            w.key("resources"); w.beginArray()
            for g in goals {
                w.beginObject()
                w.key("uri"); w.string(ResourceURI.clusters(goal: g.goal))
                w.key("name"); w.string("clusters of \(g.goal)")
                w.key("description"); w.string("\(g.clusters.count) concept clusters of goal \(g.goal)")
                w.key("mimeType"); w.string("application/json")
                w.endObject()
            }
            w.endArray()
        }
    }

    private func readResource(_ p: [String: JSONValue], id: JSONValue) -> String {
        guard case .string(let uri)? = p["uri"] else { return Self.error(id: id, code: -32602, "resources/read needs a uri") }
        let text: String
        do {
            switch ResourceURI.parse(uri) {
            case .clusters(let goal)?:
                try host.memory.flush()
                text = ToolCall.clustersJSON(goal: goal, try host.memory.clusters(goal: goal).first?.clusters ?? [])
            case .context(let goal, let plugin)?:
                var w = JSONWriter()
                w.beginObject()
                for (k, v) in try host.memory.context(goal: goal, plugin: plugin).values.sorted(by: { $0.key < $1.key })
                where !ContextKeys.isReserved(k) {
                    w.key(k); w.string(v)
                }
                w.endObject()
                text = w.text
            case nil:
                return Self.error(id: id, code: -32002, "resource not found: \(uri)")
            }
        } catch {
            return Self.error(id: id, code: -32603, "reading \(uri) failed: \(error)")
        }
        return Self.result(id: id) { w in
            w.key("contents"); w.beginArray(); w.beginObject()
            w.key("uri"); w.string(uri); w.key("mimeType"); w.string("application/json"); w.key("text"); w.string(text)
            w.endObject(); w.endArray()
        }
    }

    // MARK: - JSON-RPC envelopes

    static func key(_ id: JSONValue) -> String {
        var w = JSONWriter()
        w.value(id)
        return w.text
    }

    static func result(id: JSONValue, _ body: (inout JSONWriter) -> Void) -> String {
        var w = JSONWriter(capacity: 256)
        w.beginObject()
        w.key("jsonrpc"); w.string("2.0")
        w.key("id"); w.value(id)
        w.key("result"); w.beginObject()
        body(&w)
        w.endObject()
        w.endObject()
        return w.text
    }

    static func error(id: JSONValue, code: Int, _ message: String) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.key("jsonrpc"); w.string("2.0")
        w.key("id"); w.value(id)
        w.key("error"); w.beginObject()
        w.key("code"); w.int(code)
        w.key("message"); w.string(message)
        w.endObject()
        w.endObject()
        return w.text
    }
}

extension JSONValue {
    /// A progress token is a string or a number.
    fileprivate var isTokenLike: Bool {
        switch self {
        case .string, .number: true
        default: false
        }
    }
}

extension Duration {
    /// The duration for Dispatch, in whole nanoseconds.
    var dispatchInterval: DispatchTimeInterval {
        .nanoseconds(Int(components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000))
    }
}
