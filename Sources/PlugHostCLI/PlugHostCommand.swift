import ArgumentParser
import PlugHost
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

    /// Registers the engines the CLI has beyond the embedded ones, then runs the command line.
    /// Log lines go to standard error at PLUGHOST_LOG's level until a command's `LogOptions`
    /// set its own.
    static func main() {
        LoggingBootstrap.configureFromEnvironment()
        PostgresEngine.register()
        main(nil)
    }
}
