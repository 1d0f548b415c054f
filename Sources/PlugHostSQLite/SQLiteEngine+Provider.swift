import Foundation
import PlugHostMemory

extension EngineKind {
    /// The embedded default: a SQLite file (`.plughost/memory.sqlite` unless a location says otherwise).
    public static let sqlite: EngineKind = "sqlite"
}

extension SQLiteEngine {
    /// The default database path, under `.plughost/` of the working directory.
    public static var defaultPath: String {
        FileManager.default.currentDirectoryPath + "/.plughost/memory.sqlite"
    }

    /// The SQLite engine's provider: the location is a file path (default ``defaultPath``).
    public static let provider = EngineProvider(
        kind: .sqlite, summary: "sqlite: the embedded default, one durable file (.plughost/memory.sqlite unless --db says otherwise)",
        describeLocation: { $0 ?? defaultPath },
        open: { location, readOnly in try SQLiteEngine(path: location ?? defaultPath, readOnly: readOnly) }
    )
}
