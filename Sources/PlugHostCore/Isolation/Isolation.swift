/// Where a plugin's code runs.
public enum Isolation: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// In the host's own process: the fastest calls, and a crash or hang of the plugin is the
    /// host's. For plugins you trust (the bundled ones default to it).
    case inProcess = "in-process"
    /// In a supervised worker process of its own, with a deadline per call, resource limits and
    /// a sandbox: a crash or hang becomes an error and the next call gets a fresh worker. The
    /// default for every plugin that is not bundled with plughost.
    case process

    public var description: String { rawValue }
}
