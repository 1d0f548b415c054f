import CPlugHostABI
import PlugHost
import PlugHostPostgres

/// What `plughost --version` prints: plughost's version and the versions of the interfaces and
/// formats it speaks, each from its one source (PlugHostVersion, the public headers, the schemas).
enum VersionInfo {
    /// plughost's version (``PlugHostVersion/current``, also read by the Makefile).
    static var version: String { PlugHostVersion.current }

    /// `PLUGHOST_ABI_MAJOR.PLUGHOST_ABI_MINOR` of include/plughost/plughost.h.
    static var pluginABI: String { "\(PLUGHOST_ABI_MAJOR).\(PLUGHOST_ABI_MINOR)" }

    /// `PLUGHOST_EMBED_VERSION_MAJOR.PLUGHOST_EMBED_VERSION_MINOR` of include/plughost/embed.h.
    static var embedAPI: String { "\(PLUGHOST_EMBED_VERSION_MAJOR).\(PLUGHOST_EMBED_VERSION_MINOR)" }

    /// The lines of `plughost --version`, one fact each.
    static func lines() -> [String] {
        [
            "plughost \(version)",
            "plugin ABI \(pluginABI) (plughost/plughost.h)",
            "C embedding API \(embedAPI) (plughost/embed.h)",
            "memory schema: SQLite \(SQLiteSchema.version), PostgreSQL \(PostgresSchema.version)",
            memoryInUse(),
        ]
    }

    /// Which memory a command run here would use, by the conventions (``MemoryLocation``).
    static func memoryInUse() -> String {
        do {
            return try MemoryLocation.resolve(engine: nil, db: nil).summary
        } catch {
            return "memory: \(error)"
        }
    }
}
