import Foundation

/// Opens engines by name, with the embedded engines (memory and SQLite) registered; other
/// engines (PostgreSQL) are there once their provider is registered with ``EngineRegistry``.
public enum EngineFactory {
    private static let embedded: Void = EngineRegistry.registerIfAbsent(SQLiteEngine.provider)

    /// The default database path, under `.plughost/` of the working directory.
    public static var defaultSQLitePath: String { SQLiteEngine.defaultPath }

    /// The engines that can be opened, sorted by name.
    public static var kinds: [EngineKind] {
        embedded
        return EngineRegistry.kinds
    }

    /// The provider of `kind`, or an error naming the engines that can be opened.
    public static func provider(_ kind: EngineKind) throws -> EngineProvider {
        embedded
        return try EngineRegistry.provider(kind)
    }

    /// Opens an engine of `kind` at `location`: a file path for SQLite, a
    /// `postgres://USER[:PASSWORD]@HOST[:PORT]/DB` URL for PostgreSQL (required; `PLUGHOST_DB`
    /// is read when it is nil), ignored for memory.
    ///
    /// With `readOnly`, a SQLite database must exist already and is opened for reading only
    /// (nothing is created or written; see ``SQLiteEngine/init(path:busyTimeout:readOnly:)``).
    public static func open(_ kind: EngineKind, location: String? = nil, readOnly: Bool = false) throws -> any MemoryEngine {
        embedded
        return try EngineRegistry.open(kind, location: location, readOnly: readOnly)
    }
}
