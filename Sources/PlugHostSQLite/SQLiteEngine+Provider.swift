import Foundation
import PlugHostMemory

extension EngineKind {
    /// The embedded default: one durable SQLite file (``MemoryHome`` unless a location says otherwise).
    public static let sqlite: EngineKind = "sqlite"
}

extension SQLiteEngine {
    /// The default database path: `memory.sqlite` in the nearest `.plughost/` folder up from
    /// the working directory, else in the per-user store (``MemoryHome``).
    public static var defaultPath: String { MemoryHome.find().databasePath }

    /// The SQLite engine's provider: the location is a file path (default ``defaultPath``).
    public static let provider = EngineProvider(
        kind: .sqlite,
        summary:
            "sqlite: the embedded default, one durable file (the nearest .plughost/memory.sqlite, else ~/.local/share/plughost/memory.sqlite, unless --db says otherwise)",
        describeLocation: { $0 ?? defaultPath },
        open: { location, readOnly in try SQLiteEngine(path: location ?? defaultPath, readOnly: readOnly) }
    )
}
