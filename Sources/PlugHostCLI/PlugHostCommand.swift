import ArgumentParser
import PlugHostPostgres

/// The `plughost` command.
@main
struct PlugHostCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plughost",
        abstract: "Load plugins, call them, and keep what they remember.",
        subcommands: [
            RunCommand.self, InspectCommand.self, CallCommand.self, MemoryCommand.self, StatsCommand.self, BenchCommand.self,
            QuarantineCommand.self, ToolsCommand.self, MCPCommand.self,
        ]
    )

    /// Registers the engines the CLI has beyond the embedded ones and bootstraps the metrics
    /// backend (``ProcessMetrics``), then runs the command line.
    static func main() {
        PostgresEngine.register()
        ProcessMetrics.bootstrap()
        main(nil)
    }
}
