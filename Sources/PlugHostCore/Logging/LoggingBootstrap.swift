import Foundation
import Logging
import Synchronization

/// Bootstraps swift-log once per process (`LoggingSystem.bootstrap` may be called only once).
public enum LoggingBootstrap {
    private static let done = Atomic<Bool>(false)

    /// The variable holding the default level (`trace` … `critical`, or `warn`).
    public static let levelVariable = "PLUGHOST_LOG"
    /// The variable holding the default format (`text` or `json`).
    public static let formatVariable = "PLUGHOST_LOG_FORMAT"
    /// The level when neither a flag nor `PLUGHOST_LOG` sets one.
    public static let defaultLevel = Logger.Level.warning

    /// Bootstraps swift-log with `factory`, unless this process already did through here;
    /// returns whether it did.
    @discardableResult
    public static func bootstrap(_ factory: @escaping @Sendable (String) -> any LogHandler) -> Bool {
        guard done.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return false }
        LoggingSystem.bootstrap(factory)
        return true
    }

    /// Bootstraps swift-log with ``PlugHostLogHandler`` writing to standard error at `level` in
    /// `format`; returns whether it did (false when this process already had).
    @discardableResult
    public static func bootstrap(level: Logger.Level, format: LogFormat) -> Bool {
        bootstrap { label in PlugHostLogHandler(label: label, level: level, format: format) }
    }

    /// Bootstraps ``PlugHostLogHandler`` with the level and format `PLUGHOST_LOG` and
    /// `PLUGHOST_LOG_FORMAT` name (default warning, text; values that name none are ignored):
    /// what the C embedding API does, so plugin logs go to standard error as they always have.
    @discardableResult
    public static func bootstrapFromEnvironment() -> Bool {
        let env = ProcessInfo.processInfo.environment
        return bootstrap(
            level: env[levelVariable].flatMap { Logger.Level(plughostName: $0) } ?? defaultLevel,
            format: env[formatVariable].flatMap { LogFormat(rawValue: $0.lowercased()) } ?? .text)
    }
}
