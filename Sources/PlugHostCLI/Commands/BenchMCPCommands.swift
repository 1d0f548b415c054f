import ArgumentParser
import Foundation
import PlugHost
import PlugHostTools

/// `plughost bench mcp`: tools/call round trips from the official MCP Python client.
struct BenchMCPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp",
        abstract: "Measure MCP tools/call round trips (stdio, HTTP, pipelined) beside the Swift SDK's stdio transport.",
        discussion: """
            Runs Tests/MCPClient/bench_mcp.py (needs python3 with the mcp package) against this plughost: \
            sig_add3 over stdio and Streamable HTTP from the official Python client, pipelined over stdio, the \
            Python client's own floor against a minimal Python server, and the same tool served by the Swift \
            SDK's Server and StdioTransport (`plughost bench mcp-sdk-server`).
            """)

    @Option(help: "Calls per measurement.") var calls = 2000
    @Option(help: "The benchmark script.") var script = "Tests/MCPClient/bench_mcp.py"
    @Flag(help: "Print JSON.") var json = false

    @OptionGroup var log: LogOptions

    func run() throws {
        let exe = BenchStartupCommand.executable
        guard FileManager.default.fileExists(atPath: script) else {
            throw ValidationError("\(script) not found: run from the repository root or pass --script")
        }
        var args = ["python3", script, "--plughost", exe, "--calls", String(calls), "--sdk-server", "\(exe) bench mcp-sdk-server"]
        if json { args.append("--json") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        try p.run()
        p.waitUntilExit()
        if p.terminationStatus != 0 { throw ExitCode(p.terminationStatus) }
    }
}

/// `plughost bench mcp-sdk-server`: the baseline, sig's add3 served by the Swift SDK over stdio.
struct BenchMCPSDKServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp-sdk-server", abstract: "Serve sig.add3 with the MCP Swift SDK's stdio transport (bench mcp's baseline).",
        shouldDisplay: false)

    @OptionGroup var log: LogOptions

    func run() throws {
        let host = PluginHost(memory: try MemoryService(engine: InMemoryEngine()))
        defer { try? host.close() }
        let sig = try host.load("sig", isolation: .inProcess)
        guard let add3 = sig.function(named: "add3") else { throw ValidationError("sig has no add3") }
        MCPSDKBaselineServer.run(plugin: sig, function: add3)
    }
}
