import Foundation

/// The engines `--engine` can name.
public enum EngineKind: String, Sendable, CaseIterable {
    /// In-process dictionaries; nothing survives the process.
    case memory
    /// The embedded default: a SQLite file (`.plughost/memory.sqlite` unless `--db` says otherwise).
    case sqlite
}

/// Opens engines by kind and location.
public enum EngineFactory {
    /// The default database path, under `.plughost/` of the working directory.
    public static var defaultSQLitePath: String {
        FileManager.default.currentDirectoryPath + "/.plughost/memory.sqlite"
    }

    /// Opens an engine of `kind` at `location` (a file path for SQLite; ignored for memory).
    public static func open(_ kind: EngineKind, location: String? = nil) throws -> any MemoryEngine {
        switch kind {
        case .memory: return InMemoryEngine()
        case .sqlite: return try SQLiteEngine(path: location ?? defaultSQLitePath)
        }
    }
}

