import Logging

/// plughost's loggers. Libraries log through these swift-log `Logger`s only; the process that
/// embeds plughost picks the backend (`plughost` bootstraps ``PlugHostLogHandler``).
///
/// The loggers are made on first use: bootstrap swift-log before the first plughost call.
public enum HostLog {
    /// Plugin log lines (the host API's `log`, a worker's output), tagged `plugin`, and in
    /// pipelines `step` and `item`.
    public static let plugins = Logger(label: "plughost.plugin")
    /// The host's own notes (a plugin breaking the call rules, and the like).
    public static let host = Logger(label: "plughost")
    /// Process isolation: workers that crash, time out or get quarantined.
    public static let isolation = Logger(label: "plughost.isolation")
    /// The memory write path.
    public static let memory = Logger(label: "plughost.memory")
    /// Pipeline runs.
    public static let pipeline = Logger(label: "plughost.pipeline")

    /// Whether plugin lines at `level` are written: checked before a message is built.
    @inline(__always)
    public static func isEnabled(_ level: LogLevel) -> Bool { plugins.logLevel <= level.loggerLevel }

    /// Logs a line of plugin `plugin` at `level`, with the calling thread's ``LogContext``
    /// (`step`, `item`) and `extra` metadata. `plugin` wins over a `plugin` key in `extra`.
    public static func plugin(
        _ plugin: String?, level: Logger.Level, _ message: @autoclosure () -> String, extra: Logger.Metadata? = nil
    ) {
        guard plugins.logLevel <= level else { return }
        var metadata = LogContext.metadata
        if let extra { metadata.merge(extra) { current, _ in current } }
        if let plugin { metadata["plugin"] = .string(plugin) }
        plugins.log(level: level, "\(message())", metadata: metadata)
    }
}

extension LogLevel {
    /// The swift-log level of a plugin's level: `warn` is `warning`.
    public var loggerLevel: Logger.Level {
        switch self {
        case .debug: .debug
        case .info: .info
        case .warn: .warning
        case .error: .error
        }
    }
}
