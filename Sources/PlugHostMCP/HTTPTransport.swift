import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import PlugHost
import Synchronization

/// MCP over Streamable HTTP (protocol 2025-03-26 and later) on one endpoint, `/mcp`.
///
/// - `POST /mcp` carries one JSON-RPC message. A request is answered with `application/json`,
///   or, when it asks for progress and the client accepts `text/event-stream`, with an SSE
///   stream of its progress notifications and then its response. A request the client
///   cancelled gets an SSE stream that ends without its response. A notification or a
///   response gets `202 Accepted`; a message that is not JSON-RPC 2.0 gets `400` with a
///   JSON-RPC error (`-32700` or `-32600`).
/// - `initialize` starts a session: the reply carries `Mcp-Session-Id`, which every later
///   request must send (400 without it, 404 for an unknown one). `DELETE /mcp` ends it; a
///   session unused for `sessionIdleTimeout` (no request, no running call) is dropped.
/// - `GET /mcp` (a stream of server-initiated messages) is `405`: this server sends none.
/// - A request whose `Origin` is neither this server (by `localhost`, `127.0.0.1` or `[::1]`)
///   nor an allowed origin is refused with `403` (DNS rebinding); an unsupported
///   `MCP-Protocol-Version` with `400`.
/// - After ``drain(timeout:)`` every new request gets `503`, while those taken before finish.
/// - `GET /metrics`, when the server was given a `metrics` text, answers it in the Prometheus
///   text exposition format (computed off the event loop; `500` when it fails).
public final class HTTPTransport: Sendable {
    /// The endpoint's URL.
    public let url: String
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    private let state: HTTPState

    /// Binds `host:port` (port 0 picks a free one) and starts serving.
    public init(
        server: MCPServer, host: String, port: Int, defaultGoal: String, allowedOrigins: [String],
        sessionIdleTimeout: Duration = .seconds(30 * 60), metrics: (@Sendable () throws -> String)? = nil
    ) throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let state = HTTPState(
            server: server, goal: defaultGoal, allowedOrigins: Set(allowedOrigins), idleTimeout: sessionIdleTimeout, metrics: metrics)
        do {
            channel = try ServerBootstrap(group: group)
                .serverChannelOption(ChannelOptions.backlog, value: 256)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { ch in
                    ch.eventLoop.makeCompletedFuture {
                        try ch.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        try ch.pipeline.syncOperations.addHandler(MCPHTTPHandler(state: state))
                    }
                }
                .bind(host: host, port: port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw MCPTransportError("cannot listen on \(host):\(port): \(error)")
        }
        self.group = group
        self.state = state
        let bound = channel.localAddress?.port ?? port
        let shown = host.contains(":") ? "[\(host)]" : host
        url = "http://\(shown):\(bound)/mcp"
        state.setPort(bound)
        // Drop idle sessions now and then, so that clients that never send DELETE leave nothing behind.
        let sweep = min(sessionIdleTimeout, .seconds(60))
        let every = TimeAmount.nanoseconds(max(1_000_000, Int64(sweep / .nanoseconds(1))))
        channel.eventLoop.scheduleRepeatedTask(initialDelay: every, delay: every) { _ in state.dropIdleSessions() }
    }

    /// Blocks until the server is closed.
    public func wait() { try? channel.closeFuture.wait() }

    /// Takes no more requests (each gets `503` from now on) and waits, up to `timeout`, until
    /// every request taken before has its response written (or its connection closed); true
    /// when all have. Calling it again only waits.
    @discardableResult
    public func drain(timeout: Duration) -> Bool {
        state.stopAccepting()
        return state.waitForExchanges(timeout: timeout)
    }

    /// Stops listening and closes every connection.
    public func close() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}

/// A transport that could not start.
public struct MCPTransportError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// What every connection of one HTTP server shares.
final class HTTPState: Sendable {
    let server: MCPServer
    let goal: String
    /// How long a session may go unused before it is dropped.
    let idleTimeout: Duration
    private let allowedOrigins: Set<String>
    private let port = Atomic<Int>(0)
    private let sessions = Mutex<[String: MCPSession]>([:])
    /// False once draining: no request is taken.
    private let accepting = Mutex<Bool>(true)
    /// Requests taken whose response is not yet written.
    private let exchanges = DispatchGroup()

    /// The text of `GET /metrics` (Prometheus text format), when served.
    let metrics: (@Sendable () throws -> String)?

    init(
        server: MCPServer, goal: String, allowedOrigins: Set<String>, idleTimeout: Duration,
        metrics: (@Sendable () throws -> String)? = nil
    ) {
        self.server = server
        self.metrics = metrics
        self.goal = goal
        self.allowedOrigins = allowedOrigins
        self.idleTimeout = idleTimeout
    }

    func setPort(_ p: Int) { port.store(p, ordering: .relaxed) }

    func originAllowed(_ origin: String) -> Bool {
        if allowedOrigins.contains(origin) { return true }
        let p = port.load(ordering: .relaxed)
        return ["localhost", "127.0.0.1", "[::1]"].contains { origin == "http://\($0):\(p)" }
    }

    // MARK: Exchanges

    /// Takes one request, whose response must then end with ``endExchange()``; false while draining.
    func beginExchange() -> Bool {
        accepting.withLock { accepting in
            guard accepting else { return false }
            exchanges.enter()
            return true
        }
    }

    func endExchange() { exchanges.leave() }

    func stopAccepting() { accepting.withLock { $0 = false } }

    func waitForExchanges(timeout: Duration) -> Bool {
        exchanges.wait(timeout: .now() + timeout.dispatchInterval) == .success
    }

    // MARK: Sessions

    func newSession() -> MCPSession {
        let s = MCPSession(goal: goal)
        sessions.withLock { $0[s.id] = s }
        return s
    }

    /// The session `id`, marked used; nil for an unknown one or one unused for too long (which
    /// is dropped).
    func session(_ id: String) -> MCPSession? {
        sessions.withLock { all -> MCPSession? in
            guard let s = all[id] else { return nil }
            if s.isIdle(longerThan: idleTimeout) {
                all[id] = nil
                return nil
            }
            s.touch()
            return s
        }
    }

    /// Ends the session `id`; false when there is no such live session.
    func endSession(_ id: String) -> Bool {
        sessions.withLock { all in
            guard let s = all.removeValue(forKey: id) else { return false }
            return !s.isIdle(longerThan: idleTimeout)
        }
    }

    /// Drops every session unused for longer than the idle timeout.
    func dropIdleSessions() {
        let now = ContinuousClock.now
        sessions.withLock { all in
            for (id, s) in all where s.isIdle(longerThan: idleTimeout, now: now) { all[id] = nil }
        }
    }
}

/// One connection's requests. Each request taken is one exchange, which ends when the last
/// part of its response is written (see ``HTTPState/beginExchange()``).
final class MCPHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private static let maxBody = 64 << 20
    private let state: HTTPState
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    private var tooBig = false

    init(state: HTTPState) { self.state = state }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body.clear()
            tooBig = false
        case .body(var b):
            if body.readableBytes + b.readableBytes > Self.maxBody { tooBig = true } else { body.writeBuffer(&b) }
        case .end:
            guard let head else { return }
            self.head = nil
            guard state.beginExchange() else {
                return respond(
                    context, .serviceUnavailable, Self.plainHeaders, "the server is shutting down\n", keepAlive: false, exchange: false)
            }
            request(head, context: context)
        }
    }

    private func request(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        guard path == "/mcp" || (path == "/metrics" && state.metrics != nil) else {
            return plain(context, .notFound, "no such endpoint; MCP is served at /mcp\n")
        }
        if let origin = head.headers.first(name: "origin"), !state.originAllowed(origin) {
            return plain(context, .forbidden, "origin \(origin) is not allowed (see plughost mcp --allow-origin)\n")
        }
        if path == "/metrics", let metrics = state.metrics { return serveMetrics(metrics, head, context: context) }
        if let v = head.headers.first(name: "mcp-protocol-version"), !MCPServer.protocolVersions.contains(v) {
            return plain(context, .badRequest, "unsupported MCP-Protocol-Version \(v)\n")
        }
        let sessionID = head.headers.first(name: "mcp-session-id")
        switch head.method {
        case .POST: break
        case .DELETE:
            guard let sessionID else { return plain(context, .badRequest, "DELETE needs Mcp-Session-Id\n") }
            return state.endSession(sessionID) ? plain(context, .ok, "") : plain(context, .notFound, "no session \(sessionID)\n")
        default:
            return plain(
                context, .methodNotAllowed, "use POST (this server sends no server-initiated messages)\n",
                extra: [("Allow", "POST, DELETE")])
        }
        if tooBig { return plain(context, .payloadTooLarge, "a message is over 64 MiB\n") }
        let parsed: JSONValue
        do {
            parsed = try body.withUnsafeReadableBytes { try JSONReader.parse(bytes: $0.bindMemory(to: UInt8.self)) }
        } catch {
            return json(context, .badRequest, MCPServer.error(id: .null, code: -32700, "parse error: \(error)"), session: nil)
        }
        // Streamable HTTP: input the server cannot accept gets an HTTP error status, whose body
        // may be a JSON-RPC error response.
        let message = RPCMessage(parsed)
        if case .invalid(let id, let reason) = message {
            return json(context, .badRequest, MCPServer.error(id: id, code: -32600, "invalid request: \(reason)"), session: nil)
        }
        let session: MCPSession
        var newSession: String?
        if case .request(_, "initialize", _) = message {
            session = state.newSession()
            newSession = session.id
        } else {
            guard let sessionID else { return plain(context, .badRequest, "missing Mcp-Session-Id (send initialize first)\n") }
            guard let s = state.session(sessionID) else {
                return plain(context, .notFound, "unknown session \(sessionID) (ended, or unused for too long)\n")
            }
            session = s
        }
        guard case .request = message else {
            state.server.handle(message, session: session, emit: { _ in })
            return plain(context, .accepted, "")
        }
        let accept = head.headers[canonicalForm: "accept"].map { $0.lowercased() }
        let streaming = message.progressToken != nil && accept.contains { $0.hasPrefix("text/event-stream") }
        if streaming {
            var headers = Self.sseHeaders
            if let newSession { headers.add(name: "Mcp-Session-Id", value: newSession) }
            context.writeAndFlush(
                wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil)
        }
        let reply = Reply(streaming: streaming, newSession: newSession, keepAlive: head.isKeepAlive)
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        state.server.handle(message, session: session) { output in
            loop.execute {
                let (handler, context) = bound.value
                handler.deliver(output, reply, context: context)
            }
        }
    }

    /// `GET /metrics`: the text is computed on another thread (it may read the database), then
    /// written from the event loop.
    private func serveMetrics(_ metrics: @escaping @Sendable () throws -> String, _ head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard head.method == .GET else { return plain(context, .methodNotAllowed, "use GET\n", extra: [("Allow", "GET")]) }
        let keepAlive = head.isKeepAlive
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        DispatchQueue.global().async {
            let result = Result { try metrics() }
            loop.execute {
                let (handler, context) = bound.value
                switch result {
                case .success(let text):
                    var headers = HTTPHeaders()
                    headers.add(name: "Content-Type", value: "text/plain; version=0.0.4; charset=utf-8")
                    handler.respond(context, .ok, headers, text, keepAlive: keepAlive, exchange: true)
                case .failure(let error):
                    handler.plain(context, .internalServerError, "reading the metrics failed: \(error)\n")
                }
            }
        }
    }

    /// How one request is answered.
    private struct Reply {
        /// Whether the response is an SSE stream (its head already written).
        var streaming: Bool
        /// The `Mcp-Session-Id` of a session the request started.
        var newSession: String?
        var keepAlive: Bool
    }

    private func deliver(_ output: MCPServer.Output, _ reply: Reply, context: ChannelHandlerContext) {
        switch output {
        case .notification(let text):
            guard reply.streaming else { return }
            context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(Self.event(text, context)))), promise: nil)
        case .response(let text):
            if reply.streaming {
                context.write(wrapOutboundOut(.body(.byteBuffer(Self.event(text, context)))), promise: nil)
                end(context, keepAlive: reply.keepAlive, exchange: true)
            } else {
                json(context, .ok, text, session: reply.newSession, keepAlive: reply.keepAlive)
            }
        case .cancelled:
            // MCP: the receiver of a cancellation should not answer the request. Streamable
            // HTTP answers a POSTed request either with `application/json`, which must hold
            // the one JSON-RPC response (there is none), or with an SSE stream, which should
            // eventually carry it but may end before that (a disconnection is not a
            // cancellation, and the client gave up on the request already). `202 Accepted` is
            // for notifications and responses only (the Python SDK takes it, for a request, as
            // an error). So the exchange ends as an SSE stream without the response: the
            // stream already open ends here, or an empty one is the whole answer.
            if reply.streaming {
                end(context, keepAlive: reply.keepAlive, exchange: true)
            } else {
                var headers = Self.sseHeaders
                headers.add(name: "Content-Length", value: "0")
                if let s = reply.newSession { headers.add(name: "Mcp-Session-Id", value: s) }
                respond(context, .ok, headers, "", keepAlive: reply.keepAlive, exchange: true)
            }
        }
    }

    private static let sseHeaders = HTTPHeaders([("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")])
    private static let plainHeaders = HTTPHeaders([("Content-Type", "text/plain; charset=utf-8")])

    /// One SSE event carrying one JSON-RPC message.
    private static func event(_ text: String, _ context: ChannelHandlerContext) -> ByteBuffer {
        var b = context.channel.allocator.buffer(capacity: text.utf8.count + 24)
        b.writeString("event: message\ndata: ")
        b.writeString(text)
        b.writeString("\n\n")
        return b
    }

    private func json(
        _ context: ChannelHandlerContext, _ status: HTTPResponseStatus, _ text: String, session: String?, keepAlive: Bool = true
    ) {
        var headers = HTTPHeaders([("Content-Type", "application/json"), ("Content-Length", String(text.utf8.count))])
        if let session { headers.add(name: "Mcp-Session-Id", value: session) }
        respond(context, status, headers, text, keepAlive: keepAlive, exchange: true)
    }

    private func plain(_ context: ChannelHandlerContext, _ status: HTTPResponseStatus, _ text: String, extra: [(String, String)] = []) {
        var headers = Self.plainHeaders
        for (k, v) in extra { headers.add(name: k, value: v) }
        respond(context, status, headers, text, keepAlive: true, exchange: true)
    }

    /// Writes a whole response; `exchange` when it answers a request taken with
    /// ``HTTPState/beginExchange()``.
    private func respond(
        _ context: ChannelHandlerContext, _ status: HTTPResponseStatus, _ headers: HTTPHeaders, _ text: String, keepAlive: Bool,
        exchange: Bool
    ) {
        var headers = headers
        if !headers.contains(name: "Content-Length") { headers.add(name: "Content-Length", value: String(text.utf8.count)) }
        if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        if !text.isEmpty {
            var b = context.channel.allocator.buffer(capacity: text.utf8.count)
            b.writeString(text)
            context.write(wrapOutboundOut(.body(.byteBuffer(b))), promise: nil)
        }
        end(context, keepAlive: keepAlive, exchange: exchange)
    }

    /// Writes the end of the response; the exchange, if any, ends once it is written (or
    /// cannot be: the connection is gone).
    private func end(_ context: ChannelHandlerContext, keepAlive: Bool, exchange: Bool) {
        var promise: EventLoopPromise<Void>?
        if exchange {
            let state = self.state
            let p = context.eventLoop.makePromise(of: Void.self)
            p.futureResult.whenComplete { _ in state.endExchange() }
            promise = p
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: promise)
        if !keepAlive { context.close(promise: nil) }
    }
}
