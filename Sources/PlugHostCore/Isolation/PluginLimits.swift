/// Deadlines, resource limits and sandbox grants for a plugin.
///
/// Everything applies to `process` isolation; in `in-process` isolation only
/// ``maxResultBytes`` is enforced (the host cannot stop or limit code on its own threads).
public struct PluginLimits: Sendable, Hashable {
    /// The longest one call (or a load, with the plugin's `init`) may take, host API calls
    /// included; the worker is killed when it passes. nil waits for ever.
    public var timeout: Duration? = .seconds(30)
    /// The worker's address space (RLIMIT_AS), in bytes; 0 leaves it unlimited.
    public var memoryBytes: UInt64 = 4 << 30
    /// CPU seconds over the worker's whole life (RLIMIT_CPU); 0 leaves it unlimited (the
    /// per-call timeout bounds each call's wall time).
    public var cpuSeconds: UInt64 = 0
    /// Open files (RLIMIT_NOFILE); 0 leaves the inherited limit.
    public var openFiles: UInt64 = 256
    /// The biggest string or buffer a function may return, in bytes.
    public var maxResultBytes: Int = 64 << 20
    /// Folders (or files) the worker may write under (and read).
    public var writablePaths: [String] = []
    /// Folders (or files) the worker may read, beyond ``systemReadablePaths`` and the plugin's
    /// own folder; everything else (home folders included) it cannot open.
    public var readablePaths: [String] = []
    /// Whether the worker may open TCP connections or listen.
    public var network: Bool = false
    /// The most worker processes the plugin may run at once (at least 1; less counts as 1).
    /// Each runs one call at a time, so this many calls of the plugin run concurrently; the
    /// first worker starts at load, the others only when concurrent calls need them.
    public var workers: Int = 1

    /// What every worker may read (and execute): the system's programs, libraries and
    /// configuration, and the kernel's pseudo file systems.
    public static let systemReadablePaths = [
        "/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc", "/opt", "/proc", "/sys", "/dev", "/run",
        "/nix/store",
    ]

    /// The defaults above.
    public static let `default` = PluginLimits()

    public init() {}

    /// A timeout as a message says it: "30 s", "250 ms".
    public static func text(_ timeout: Duration?) -> String {
        guard let timeout else { return "never" }
        let ms = timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000
        return ms % 1000 == 0 ? "\(ms / 1000) s" : "\(ms) ms"
    }
}
