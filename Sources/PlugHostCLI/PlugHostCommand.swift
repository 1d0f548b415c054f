import ArgumentParser
import PlugHost
import PlugHostPostgres

/// The `plughost` command.
@main
struct PlugHostCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plughost",
        abstract: "Load plugins, call them, and keep what they remember.",
        discussion: """
            Memory: --db, else $PLUGHOST_DB, else memory.sqlite in the nearest .plughost/ folder up from the \
            working directory (`plughost init` makes one), else the per-user store $XDG_DATA_HOME/plughost/ \
            (~/.local/share/plughost/). A postgres:// URL selects the PostgreSQL engine.

            \(ExitStatus.table)
            """,
        version: VersionInfo.lines().joined(separator: "\n"),
        subcommands: [
            RunCommand.self, InspectCommand.self, CallCommand.self, MemoryCommand.self, StatsCommand.self, InitCommand.self,
            BenchCommand.self, QuarantineCommand.self, ToolsCommand.self, MCPCommand.self,
        ]
    )

    /// Registers the engines the CLI has beyond the embedded ones, then runs the command line
    /// (``CommandRunner``: one exit-status table, JSON errors, "did you mean").
    /// Log lines go to standard error at PLUGHOST_LOG's level until a command's `LogOptions`
    /// set its own.
    static func main() {
        LoggingBootstrap.configureFromEnvironment()
        PostgresEngine.register()
        ProcessMetrics.bootstrap()
        CommandRunner.main(Array(CommandLine.arguments.dropFirst()))
    }
}
