import Foundation
import PlugHostCore
import PlugHostMemory

extension EngineKind {
    /// A PostgreSQL database shared by many hosts (`postgres://USER@HOST:PORT/DB`).
    public static let postgres: EngineKind = "postgres"
}

extension PostgresEngine {
    /// The PostgreSQL engine's provider: the location is a `postgres://USER[:PASSWORD]@HOST[:PORT]/DB`
    /// URL, `PLUGHOST_DB` when none is given. Register it once: `PostgresEngine.register()`.
    public static let provider = EngineProvider(
        kind: .postgres, summary: "postgres: one memory shared by many hosts (--db postgres://USER@HOST:PORT/DB, or PLUGHOST_DB)",
        checkLocation: { location in
            let url = try url(location)
            do { _ = try PostgresLocation(url: url) } catch { throw MemoryError(.invalid, "\(error)") }
        },
        describeLocation: { location in (try? url(location)).map(PostgresLocation.redact) },
        open: { location, _ in try PostgresEngine(url: try url(location)) }
    )

    /// Registers ``provider`` with ``EngineRegistry``.
    public static func register() { EngineRegistry.register(provider) }

    private static func url(_ location: String?) throws -> String {
        guard let url = location ?? ProcessInfo.processInfo.environment["PLUGHOST_DB"], !url.isEmpty else {
            throw MemoryError(.invalid, "the postgres engine needs a database URL: --db postgres://USER@HOST:PORT/DB (or PLUGHOST_DB)")
        }
        return url
    }
}
