import ArgumentParser
import Foundation
import PlugHost
import PlugHostMCP
import PlugHostPipeline
import Synchronization

/// `plughost mcp`: serves plugins and the memory to agents over the Model Context Protocol.
struct MCPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp",
        abstract: "Serve plugins and the memory as MCP tools, over stdio or Streamable HTTP.",
        discussion: """
            Over stdio (the default) standard output carries only protocol messages; logs go to standard error. \
            With --http 127.0.0.1:PORT the server answers Streamable HTTP at http://127.0.0.1:PORT/mcp, refuses \
            requests whose Origin is not this server (or one given with --allow-origin), and listens on no other \
            interface unless given one; GET /metrics there answers the Prometheus text format (docs/metrics.md). Each call uses the session's goal (--goal) unless it passes its own goal \
            argument. End of input, SIGTERM or a client that closes its end stops the server after running calls \
            answered (new requests are refused meanwhile; HTTP answers 503), with memory flushed.
            """)

    @Argument(
        help: "Plugin paths or bare names on the plugin search path (default: text, unless --pipeline names plugins).",
        completion: .custom(PluginNameCompletion.complete))
    var plugins: [String] = []

    @Option(
        help: "Also serve the plugins this pipeline file declares, with its settings for them.",
        completion: .file(extensions: ["yaml", "yml", "json"]))
    var pipeline: String?

    @Option(name: [.short, .long], help: "The goal calls use when they name none.")
    var goal: String = "default"

    @Option(help: "Serve Streamable HTTP on HOST:PORT (e.g. 127.0.0.1:8765) instead of stdio.")
    var http: String?

    @Option(name: .customLong("allow-origin"), help: "An Origin (e.g. http://localhost:3000) allowed to call the HTTP server (repeatable).")
    var allowedOrigins: [String] = []

    @Flag(name: .customLong("no-memory-tools"), help: "Do not serve memory_write, memory_recall, memory_forget, memory_clusters.")
    var noMemoryTools = false

    @Option(
        name: .customLong("session-idle-timeout"),
        help: "Drop an HTTP session after this many seconds without a request or a running call (later requests with its id get 404).")
    var sessionIdleTimeout: Int = 30 * 60

    @Flag(
        name: .customLong("output-schemas"),
        help: "List each tool's outputSchema (clients then validate every result against it; slower per call).")
    var outputSchemas = false

    @Flag(help: "A start-up failure as a JSON error object on standard output (the protocol itself is JSON-RPC).")
    var json = false

    @OptionGroup var engine: EngineOptions
    @OptionGroup var writePath: WritePathOptions
    @OptionGroup var pluginOptions: PluginOptions

    func validate() throws {
        guard sessionIdleTimeout > 0 else { throw ValidationError("--session-idle-timeout must be at least 1 second") }
    }

    @OptionGroup var logging: LogOptions

    func run() throws {
        // A client that closes its end makes writes fail with EPIPE, which ends the server
        // cleanly, instead of killing it.
        signal(SIGPIPE, SIG_IGN)
        let out = StandardOutput.reserve()
        let host = pluginOptions.makeHost(memory: try engine.openMemory(baseline: writePath.baseline))
        var loaded: [LoadedPlugin] = []
        do {
            if let pipeline {
                let d = try PipelineParser.parse(path: pipeline)
                for p in d.plugins { loaded.append(try PipelineRunner.load(p.name, of: d, into: host)) }
            }
            let names = plugins.isEmpty && loaded.isEmpty ? ["text"] : plugins
            for n in names { loaded.append(try host.load(n)) }
        } catch {
            try? host.close()
            throw error
        }
        let catalog = ToolCatalog(plugins: loaded, memoryTools: !noMemoryTools)
        for s in catalog.skipped { log("left out \(s.function): \(s.reason)") }
        let server = MCPServer(host: host, catalog: catalog, version: PlugHostVersion.current, outputSchemas: outputSchemas)
        let shutdown = Shutdown(server: server, host: host)
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        let signals = [SIGTERM, SIGINT].map { DispatchSource.makeSignalSource(signal: $0, queue: .global()) }
        for s in signals {
            s.setEventHandler { shutdown.stop(0) }
            s.resume()
        }

        if let http {
            let (hostPart, port) = try Self.parse(address: http)
            let transport = try HTTPTransport(
                server: server, host: hostPart, port: port, defaultGoal: goal, allowedOrigins: allowedOrigins,
                sessionIdleTimeout: .seconds(sessionIdleTimeout),
                metrics: { [memory = host.memory] in ProcessMetrics.text() + StoredMetrics.text(try MemorySummary(memory)) })
            shutdown.attach(transport)
            log("listening on \(transport.url)")
            transport.wait()
        } else {
            let transport = try StdioTransport(
                server: server, session: MCPSession(goal: goal), input: STDIN_FILENO, output: out.fileDescriptor)
            transport.run()
            if transport.clientGone { log("the client closed its end of standard output; stopping") }
        }
        shutdown.stop(0)
    }

    static func parse(address: String) throws -> (String, Int) {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]), (0...65535).contains(port)
        else {
            throw ValidationError("--http \(address): expected HOST:PORT, e.g. 127.0.0.1:8765")
        }
        var h = String(address[..<colon])
        if h.hasPrefix("["), h.hasSuffix("]") { h = String(h.dropFirst().dropLast()) }
        guard !h.isEmpty else { throw ValidationError("--http \(address): give the interface, e.g. 127.0.0.1:\(port)") }
        return (h, port)
    }
}

/// Stops the server once, however many ways ask for it (SIGTERM, SIGINT, end of input, a gone
/// client) and from whichever threads: the HTTP transport takes no more requests and finishes
/// those it took, running calls end, the memory is closed, and the process exits with the
/// first status asked for. A later caller waits for that exit.
private final class Shutdown: Sendable {
    private static let timeout = Duration.seconds(30)
    private let server: MCPServer
    private let host: PluginHost
    private let http = Mutex<HTTPTransport?>(nil)
    private let started = Atomic<Bool>(false)

    init(server: MCPServer, host: PluginHost) {
        self.server = server
        self.host = host
    }

    /// The HTTP transport to drain first.
    func attach(_ transport: HTTPTransport) { http.withLock { $0 = transport } }

    func stop(_ status: Int32) -> Never {
        guard started.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else {
            while true { pause() }
        }
        let deadline = ContinuousClock.now + Self.timeout
        if let t = http.withLock({ $0 }), !t.drain(timeout: Self.timeout) {
            log("requests still unanswered after \(Self.timeout); stopping anyway")
        }
        if !server.drain(timeout: max(.zero, deadline - .now)) { log("calls still running after \(Self.timeout); stopping anyway") }
        do { try host.close() } catch {
            log("closing the memory failed: \(error)")
            Foundation.exit(1)
        }
        Foundation.exit(status)
    }
}

private func log(_ message: String) {
    FileHandle.standardError.write(Data("plughost mcp: \(message)\n".utf8))
}
