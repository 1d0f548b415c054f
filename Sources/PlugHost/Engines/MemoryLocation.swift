import Foundation

/// Which engine and which database a command uses, from what it was told and the conventions:
/// `--engine`, `--db`, `PLUGHOST_DB`, then ``MemoryHome``.
///
/// - A `postgres://` or `postgresql://` URL (from `--db` or `PLUGHOST_DB`) selects PostgreSQL;
///   any other location is a SQLite file. An explicit engine that contradicts the location is
///   an error, never a silent choice.
/// - `--db` wins over `PLUGHOST_DB`; with neither, SQLite at ``MemoryHome``.
/// - The in-memory engine takes no location: `--db` with it is an error, `PLUGHOST_DB` is not
///   read.
public struct MemoryLocation: Sendable, Hashable {
    /// Where the location came from.
    public enum Origin: String, Sendable, Hashable {
        /// `--db` (or a location the caller passed).
        case option
        /// The `PLUGHOST_DB` environment variable.
        case environment
        /// The nearest `.plughost/` folder up from the working directory.
        case project
        /// The per-user store, `$XDG_DATA_HOME/plughost/`.
        case user
        /// No location: the in-memory engine.
        case none
    }

    /// The engine.
    public let kind: EngineKind
    /// The database: a file path for SQLite, a URL for PostgreSQL, nil in memory.
    public let location: String?
    /// Where ``location`` came from.
    public let origin: Origin

    /// Resolves the engine and location.
    ///
    /// - Parameters:
    ///   - engine: The engine named by the caller (`--engine`), or nil to infer it.
    ///   - db: The location named by the caller (`--db`), or nil.
    /// - Throws: ``MemoryError/Code-swift.struct/invalid`` for a contradiction, naming both sides.
    public static func resolve(
        engine: EngineKind?, db: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
        currentDirectory: String = FileManager.default.currentDirectoryPath
    ) throws -> MemoryLocation {
        if engine == .memory {
            if let db {
                throw MemoryError(.invalid, "--engine memory keeps nothing on disk, so --db \(db) has no meaning; leave out one of them")
            }
            return MemoryLocation(kind: .memory, location: nil, origin: .none)
        }
        let given: (String, Origin, String)? =
            db.map { ($0, .option, "--db") }
            ?? environment["PLUGHOST_DB"].flatMap { $0.isEmpty ? nil : ($0, .environment, "PLUGHOST_DB") }
        guard let (value, origin, source) = given else {
            if let engine, engine != .sqlite {
                throw MemoryError(
                    .invalid,
                    "--engine \(engine.rawValue) needs a database URL: --db postgres://USER@HOST:PORT/DB (or PLUGHOST_DB)")
            }
            let home = MemoryHome.find(from: currentDirectory, environment: environment)
            return MemoryLocation(kind: .sqlite, location: home.databasePath, origin: home.scope == .project ? .project : .user)
        }
        let inferred: EngineKind = isPostgresURL(value) ? "postgres" : .sqlite
        if let engine, engine != inferred {
            let what = inferred == .sqlite ? "a file path (the sqlite engine's)" : "a PostgreSQL URL"
            throw MemoryError(
                .invalid,
                "--engine \(engine.rawValue) contradicts \(source) \(redacted(value)), which is \(what); leave out --engine (it is inferred from the location) or give a location for \(engine.rawValue)"
            )
        }
        if inferred == .sqlite, value.contains("://") {
            throw MemoryError(
                .invalid,
                "\(source) \(redacted(value)): not a file path, and not a postgres:// or postgresql:// URL; the engines' locations are a SQLite file path or a PostgreSQL URL"
            )
        }
        return MemoryLocation(kind: inferred, location: value, origin: origin)
    }

    /// True for a `postgres://` or `postgresql://` URL.
    public static func isPostgresURL(_ value: String) -> Bool {
        let lower = value.lowercased()
        return lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://")
    }

    /// `value` with a URL's password replaced by `***`, for messages.
    public static func redacted(_ value: String) -> String {
        guard var c = URLComponents(string: value), c.password != nil else { return value }
        c.password = "***"
        return c.string ?? value
    }

    /// A line for people: the engine, the database and why it is that one.
    public var summary: String {
        switch origin {
        case .none: return "memory: in memory (nothing is kept after the process)"
        case .option: return "memory: \(kind.rawValue) at \(Self.redacted(location ?? "")) (--db)"
        case .environment: return "memory: \(kind.rawValue) at \(Self.redacted(location ?? "")) (PLUGHOST_DB)"
        case .project: return "memory: sqlite at \(location ?? "") (the project's .plughost/)"
        case .user: return "memory: sqlite at \(location ?? "") (the per-user store; `plughost init` makes one for a project)"
        }
    }
}
