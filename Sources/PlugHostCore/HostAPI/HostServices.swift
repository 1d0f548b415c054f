/// Log levels of the host API.
public enum LogLevel: Int, Sendable, Comparable {
    case debug = 0, info, warn, error
    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }
}

/// What the host API table offers a plugin, behind a Swift protocol: the memory write path
/// implements it. Every method is called on the plugin's calling thread and may block until
/// the operation is acknowledged.
public protocol HostServices: Sendable {
    /// The write limits the host API checks early (before it reads a plugin's arrays); the
    /// same limits the write path then applies.
    var limits: MemoryLimits { get }
    /// Writes a memory; returns its id once acknowledged.
    func write(_ write: MemoryWrite) throws -> String
    /// Recalls memories of a goal.
    func recall(goal: String, _ query: RecallQuery, limit: Int) throws -> [RecalledMemory]
    /// Forgets a memory of a goal by id; false when there was none.
    func forget(goal: String, id: String) throws -> Bool
    /// Reads a key of a plugin's context for a goal.
    func contextValue(goal: String, plugin: String, key: String) throws -> String?
    /// Sets (or with nil removes) a key of a plugin's context for a goal; durable once it returns.
    func setContextValue(goal: String, plugin: String, key: String, value: String?) throws
}

extension HostServices {
    /// The default limits.
    public var limits: MemoryLimits { .default }
}
