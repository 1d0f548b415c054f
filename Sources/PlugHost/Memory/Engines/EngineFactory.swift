import Foundation

/// The engines `--engine` can name.
public enum EngineKind: String, Sendable, CaseIterable {
    /// In-process dictionaries; nothing survives the process.
    case memory
    /// The embedded default: a SQLite file (`.plughost/memory.sqlite` unless `--db` says otherwise).
    case sqlite
    /// A PostgreSQL database shared by many hosts (`--db postgres://USER@HOST:PORT/DB`).
    case postgres
}

/// Opens engines by kind and location.
public enum EngineFactory {
    /// The default database path, under `.plughost/` of the working directory.
    public static var defaultSQLitePath: String {
        FileManager.default.currentDirectoryPath + "/.plughost/memory.sqlite"
    }

    /// Opens an engine of `kind` at `location`: a file path for SQLite, a
    /// `postgres://USER[:PASSWORD]@HOST[:PORT]/DB` URL for PostgreSQL (required; `PLUGHOST_DB`
    /// is read when it is nil), ignored for memory.
    ///
    /// With `readOnly`, a SQLite database must exist already and is opened for reading only
    /// (nothing is created or written; see ``SQLiteEngine/init(path:busyTimeout:readOnly:)``).
    public static func open(_ kind: EngineKind, location: String? = nil, readOnly: Bool = false) throws -> any MemoryEngine {
        switch kind {
        case .memory: return InMemoryEngine()
        case .sqlite: return try SQLiteEngine(path: location ?? defaultSQLitePath, readOnly: readOnly)
        case .postgres:
            guard let url = location ?? ProcessInfo.processInfo.environment["PLUGHOST_DB"], !url.isEmpty else {
                throw MemoryError(.invalid, "the postgres engine needs a database URL: --db postgres://USER@HOST:PORT/DB (or PLUGHOST_DB)")
            }
            return try PostgresEngine(url: url)
        }
    }
}

