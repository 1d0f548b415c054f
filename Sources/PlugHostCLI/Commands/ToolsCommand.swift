import ArgumentParser
import Foundation
import PlugHost
import PlugHostMCP

extension ToolCatalog.Format: ExpressibleByArgument {}

/// `plughost tools [PLUGIN…] --format mcp|openai|json-schema`: tool definitions for agents.
struct ToolsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tools",
        abstract: "Print tool definitions (JSON) generated from the plugins' declared signatures.",
        discussion: """
            One tool per function, named <plugin>_<function>; functions with pointer parameters are left out \
            (listed on standard error). --memory-tools adds memory_write, memory_recall, memory_forget and \
            memory_clusters, as `plughost mcp` serves them.
            """)

    @Argument(
        help: "Plugin paths or bare names on the plugin search path (default: text and sig).",
        completion: .custom(PluginNameCompletion.complete))
    var plugins: [String] = []

    @Option(help: "The definitions' format: \(ToolCatalog.Format.allCases.map(\.rawValue).joined(separator: ", ")).")
    var format: ToolCatalog.Format = .mcp

    @Flag(help: "Add the memory tools.")
    var memoryTools = false

    @Flag(help: "The definitions are JSON already; with --json a failure is a JSON error object too.")
    var json = false

    @OptionGroup var pluginOptions: PluginOptions

    @OptionGroup var log: LogOptions

    func run() throws {
        let out = StandardOutput.reserve()
        let host = pluginOptions.makeHost(memory: try MemoryService(engine: InMemoryEngine()))
        defer { try? host.close() }
        let loaded = try (plugins.isEmpty ? ["text", "sig"] : plugins).map { try host.load($0) }
        let catalog = ToolCatalog(plugins: loaded, memoryTools: memoryTools)
        for s in catalog.skipped {
            FileHandle.standardError.write(Data("plughost tools: left out \(s.function): \(s.reason)\n".utf8))
        }
        out.writeLine(catalog.definitionsJSON(format))
    }
}
