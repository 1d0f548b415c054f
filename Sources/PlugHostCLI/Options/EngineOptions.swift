import ArgumentParser
import PlugHost
import PlugHostPipeline
import PlugHostTools

/// Options that choose the memory engine and the write path.
struct EngineOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Memory engine: \(EngineFactory.kinds.map(\.rawValue).joined(separator: ", ")) (default: sqlite, durable; postgres: shared by many hosts)."
        ))
    var engine: String = EngineKind.sqlite.rawValue

    @Option(
        help:
            "Database file for sqlite (default: .plughost/memory.sqlite), or postgres://USER[:PASSWORD]@HOST[:PORT]/DB for postgres (default: $PLUGHOST_DB)."
    )
    var db: String?

    @Flag(help: "Eager baseline: the context cache, dependency batching and lazy clustering off.")
    var baseline = false

    /// The engine kind, or a validation error naming the option.
    func kind() throws -> EngineKind {
        let kinds = EngineFactory.kinds
        guard kinds.contains(EngineKind(rawValue: engine)) else {
            throw ValidationError("--engine \(engine): unknown engine; use one of \(kinds.map(\.rawValue).joined(separator: ", "))")
        }
        return EngineKind(rawValue: engine)
    }

    /// Opens the memory write path these options describe.
    func openMemory() throws -> MemoryService {
        var config = baseline ? MemoryConfiguration.baseline : MemoryConfiguration()
        config.backgroundClustering = true
        return try MemoryService(engine: EngineFactory.open(try kind(), location: db), configuration: config)
    }

    /// Opens the memory for a command that only reads: nothing is created, written, swept or
    /// clustered (a missing SQLite database is an error, a read-only file is fine).
    func openMemoryForReading() throws -> MemoryService {
        var config = MemoryConfiguration()
        config.readOnly = true
        return try MemoryService(engine: EngineFactory.open(try kind(), location: db, readOnly: true), configuration: config)
    }
}

/// Options that extend the plugin search path.
struct PluginOptions: ParsableArguments {
    @Option(name: .customLong("plugin-dir"), help: "A folder to search for plugins by bare name (repeatable).")
    var pluginDirs: [String] = []

    var searchPath: PluginSearchPath { PluginSearchPath(extra: pluginDirs) }
}
