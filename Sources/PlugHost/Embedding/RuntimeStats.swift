/// What ``PlugHostRuntime/stats()`` reports: the engine, the loaded plugins, the runtime's
/// call counters and the memory write path's counters.
public struct RuntimeStats: Sendable, Hashable, Codable {
    /// The engine's kind: `"sqlite"` or `"memory"`.
    public var engine: String
    /// The database file of the SQLite engine; nil for the memory engine.
    public var databasePath: String?
    /// The names of the loaded plugins, sorted.
    public var plugins: [String]
    /// Plugin function calls that returned a value.
    public var invocations: Int
    /// Plugin function calls that failed (bad arguments, or an error the plugin reported).
    public var failedInvocations: Int
    /// The memory write path's counters (writes, commits, cache hits, clustering runs…).
    public var memory: MemoryStats

    /// Creates stats.
    public init(engine: String, databasePath: String?, plugins: [String], invocations: Int, failedInvocations: Int, memory: MemoryStats) {
        self.engine = engine
        self.databasePath = databasePath
        self.plugins = plugins
        self.invocations = invocations
        self.failedInvocations = failedInvocations
        self.memory = memory
    }
}
