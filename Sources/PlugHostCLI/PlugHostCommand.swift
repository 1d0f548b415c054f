import ArgumentParser

/// The `plughost` command.
@main
struct PlugHostCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plughost",
        abstract: "Load plugins, call them, and keep what they remember.",
        subcommands: [RunCommand.self, InspectCommand.self, CallCommand.self, MemoryCommand.self, StatsCommand.self, BenchCommand.self]
    )
}
