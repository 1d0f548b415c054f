import ArgumentParser
import Foundation
import PlugHost
import PlugHostPipeline
import PlugHostTools

/// The engines the CLI can open (`--engine`): enumerated, so that help and completion list them.
enum EngineChoice: String, CaseIterable, ExpressibleByArgument {
    case sqlite, postgres, memory
    var kind: EngineKind { EngineKind(rawValue: rawValue) }
}

/// Options that choose the memory: the engine and the database.
///
/// Where the memory lives, by convention: `--db`, else `PLUGHOST_DB`, else `memory.sqlite`
/// in the nearest `.plughost/` folder up from the working directory, else the per-user store
/// (`$XDG_DATA_HOME/plughost/`). The engine is inferred from the location: a `postgres://`
/// URL is PostgreSQL, anything else a SQLite file (see ``MemoryLocation``).
struct EngineOptions: ParsableArguments {
    @Option(
        name: [.short, .long],
        help: ArgumentHelp(
            "Memory engine (default: inferred from --db or PLUGHOST_DB: a postgres:// URL is postgres, else sqlite).",
            discussion: "sqlite: one durable file (the default); postgres: one memory shared by many hosts; memory: nothing is kept."))
    var engine: EngineChoice?

    @Option(
        name: [.short, .long],
        help: ArgumentHelp(
            "A SQLite database file, or postgres://USER[:PASSWORD]@HOST[:PORT]/DB (default: $PLUGHOST_DB, else memory.sqlite in the nearest .plughost/ up from here, else in $XDG_DATA_HOME/plughost/).",
            valueName: "path-or-url"),
        completion: .file(extensions: ["sqlite", "db"]))
    var db: String?

    @Option(
        help: ArgumentHelp(
            "θ: an edge needs co(a,b) ≥ theta (or a dependency); at least 1.",
            discussion:
                "Stored with the memory by the first process that writes it (default 2); a different --theta than the stored one is refused, and without --theta the stored one is used."
        ))
    var theta: Int32?

    func validate() throws {
        if let theta, theta < 1 { throw ValidationError("--theta must be at least 1 (got \(theta)): an edge needs co(a,b) ≥ theta") }
    }

    /// The engine and database these options, the environment and the conventions give.
    func location() throws -> MemoryLocation {
        try MemoryLocation.resolve(engine: engine?.kind, db: db)
    }

    /// The engine kind.
    func kind() throws -> EngineKind { try location().kind }

    /// Opens the memory write path these options describe; `theta` (a pipeline's) is used
    /// when `--theta` is not given. With `deferCreation`, a SQLite database that does not exist
    /// yet is created by the first write (``DeferredSQLiteEngine``), else now.
    func openMemory(baseline: Bool = false, theta fallback: Int32? = nil, deferCreation: Bool = true) throws -> MemoryService {
        var config = baseline ? MemoryConfiguration.baseline : MemoryConfiguration()
        config.backgroundClustering = true
        config.explicitTheta = theta ?? fallback
        let place = try location()
        // A SQLite file that does not exist yet is created by the first real use of the memory,
        // not by opening it: a command that does not touch the memory leaves nothing behind.
        if deferCreation, place.kind == .sqlite, let path = place.location, !FileManager.default.fileExists(atPath: path) {
            let engine = DeferredSQLiteEngine(path: path)
            return try MemoryService(engine: engine, configuration: config)
        }
        return try MemoryService(engine: EngineFactory.open(place.kind, location: place.location), configuration: config)
    }

    /// Opens the memory for a command that only reads: nothing is created, written, swept or
    /// clustered (a missing SQLite database is an error, a read-only file is fine).
    func openMemoryForReading() throws -> MemoryService {
        var config = MemoryConfiguration()
        config.readOnly = true
        config.explicitTheta = theta
        return try MemoryService(engine: openEngineForReading(), configuration: config)
    }

    /// Opens the engine alone, for reading (no write path over it).
    func openEngineForReading() throws -> any MemoryEngine {
        let place = try location()
        do {
            return try EngineFactory.open(place.kind, location: place.location, readOnly: true)
        } catch let e as MemoryError where e.code == .notFound && place.kind == .sqlite {
            let origin: String
            switch place.origin {
            case .user: origin = " (the per-user store; `plughost init` gives a folder a memory of its own)"
            case .project: origin = " (the nearest .plughost/ up from here)"
            case .environment: origin = " (PLUGHOST_DB)"
            default: origin = ""
            }
            throw CommandError(.storage, e.message + origin)
        }
    }
}

/// `--baseline`, for the commands that write.
struct WritePathOptions: ParsableArguments {
    @Flag(help: "Eager baseline: the context cache, dependency batching and lazy clustering off (same results, slower).")
    var baseline = false
}

/// Options that extend the plugin search path.
struct PluginOptions: ParsableArguments {
    @Option(name: .customLong("plugin-dir"), help: "A folder to search for plugins by bare name (repeatable).")
    var pluginDirs: [String] = []

    @Option(
        help: ArgumentHelp(
            "Where plugin code runs: process (a supervised worker, with a deadline, limits and a sandbox) or in-process (trusted plugins, fastest).",
            discussion: "Default: in-process for the plugins bundled with plughost, process for every other plugin."))
    var isolation: Isolation?

    @Option(help: "Seconds a plugin call (or a load) may take in process isolation before its worker is killed; 0: no limit.")
    var timeout: Double = 30

    @Option(name: .customLong("memory-limit"), help: "A plugin worker's address space in MiB (RLIMIT_AS); 0: no limit.")
    var memoryLimitMiB: UInt64 = PluginLimits.default.memoryBytes >> 20

    @Option(name: .customLong("allow-write"), help: "A folder a plugin worker may write under (repeatable); all else is read-only.")
    var allowWrite: [String] = []

    @Option(
        name: .customLong("allow-read"),
        help: "A folder a plugin worker may read (repeatable), beyond the system's (/usr, /etc, …) and the plugin's own.")
    var allowRead: [String] = []

    @Flag(name: .customLong("allow-network"), help: "Let plugin workers open TCP connections and listen.")
    var allowNetwork = false

    @Option(
        help: "The most worker processes a plugin in process isolation may run at once (its calls that may run concurrently); at least 1."
    )
    var workers: Int = 1

    var searchPath: PluginSearchPath { PluginSearchPath(extra: pluginDirs) }

    /// The limits these options give.
    var limits: PluginLimits {
        var l = PluginLimits.default
        l.timeout = timeout > 0 ? .milliseconds(Int64((min(timeout, 1e9) * 1000).rounded())) : nil
        l.memoryBytes = memoryLimitMiB << 20
        l.writablePaths = allowWrite.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        l.readablePaths = allowRead.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        l.network = allowNetwork
        l.workers = workers
        return l
    }

    func validate() throws {
        guard timeout >= 0, timeout.isFinite else { throw ValidationError("--timeout must be 0 (no limit) or a number of seconds") }
        guard workers >= 1 else { throw ValidationError("--workers must be at least 1 (got \(workers))") }
    }

    /// A host over `memory` with these options.
    func makeHost(memory: MemoryService) -> PluginHost {
        PluginHost(memory: memory, searchPath: searchPath, isolation: isolation, limits: limits)
    }
}

extension Isolation: ExpressibleByArgument {}
