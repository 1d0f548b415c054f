import Foundation
import Logging
import Synchronization

/// Bootstraps swift-log once per process (`LoggingSystem.bootstrap` may be called only once),
/// and holds the process-wide level and format of ``PlugHostLogHandler``, which may change
/// afterwards: `plughost` bootstraps from the environment at start-up, and a command's options
/// then set what they chose.
public enum LoggingBootstrap {
    private static let done = Atomic<Bool>(false)
    private static let levelIndex = Atomic<Int>(Logger.Level.allCases.firstIndex(of: .warning)!)
    private static let formatIndex = Atomic<Int>(0)

    /// The variable holding the default level (`trace` … `critical`, or `warn`).
    public static let levelVariable = "PLUGHOST_LOG"
    /// The variable holding the default format (`text` or `json`).
    public static let formatVariable = "PLUGHOST_LOG_FORMAT"
    /// The level when neither an option nor `PLUGHOST_LOG` sets one.
    public static let defaultLevel = Logger.Level.warning

    /// The level of every ``PlugHostLogHandler`` that was not given one.
    public static var level: Logger.Level { Logger.Level.allCases[levelIndex.load(ordering: .relaxed)] }
    /// The format of every ``PlugHostLogHandler`` that was not given one.
    public static var format: LogFormat { LogFormat.allCases[formatIndex.load(ordering: .relaxed)] }

    /// Bootstraps swift-log with `factory`, unless this process already did through here;
    /// returns whether it did.
    @discardableResult
    public static func bootstrap(_ factory: @escaping @Sendable (String) -> any LogHandler) -> Bool {
        guard done.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return false }
        LoggingSystem.bootstrap(factory)
        return true
    }

    /// Sets the process-wide level and format, and bootstraps swift-log with
    /// ``PlugHostLogHandler`` (standard error) unless this process already bootstrapped it
    /// through here. Lines already being logged switch too: handlers read the setting.
    public static func configure(level: Logger.Level, format: LogFormat) {
        levelIndex.store(Logger.Level.allCases.firstIndex(of: level)!, ordering: .relaxed)
        formatIndex.store(LogFormat.allCases.firstIndex(of: format)!, ordering: .relaxed)
        bootstrap { label in PlugHostLogHandler(label: label) }
    }

    /// The level `PLUGHOST_LOG` names, nil when unset; throws a message when it names none.
    public static func environmentLevel() throws(LogSettingError) -> Logger.Level? {
        guard let name = ProcessInfo.processInfo.environment[levelVariable] else { return nil }
        guard let level = Logger.Level(plughostName: name) else {
            throw LogSettingError(
                "\(levelVariable)=\(name) is not a log level; use one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")) (or warn)"
            )
        }
        return level
    }

    /// The format `PLUGHOST_LOG_FORMAT` names, nil when unset; throws a message when it names none.
    public static func environmentFormat() throws(LogSettingError) -> LogFormat? {
        guard let name = ProcessInfo.processInfo.environment[formatVariable] else { return nil }
        guard let format = LogFormat(rawValue: name.lowercased()) else {
            throw LogSettingError("\(formatVariable)=\(name) is not a log format; use text or json")
        }
        return format
    }

    /// ``configure(level:format:)`` with what `PLUGHOST_LOG` and `PLUGHOST_LOG_FORMAT` name
    /// (default warning, text; a value that names none is ignored): what `plughost` does at
    /// start-up and the C embedding API at its first host, so plugin logs go to standard error.
    public static func configureFromEnvironment() {
        configure(level: (try? environmentLevel()) ?? defaultLevel, format: (try? environmentFormat()) ?? .text)
    }
}

/// A `PLUGHOST_LOG` or `PLUGHOST_LOG_FORMAT` that names no level or format.
public struct LogSettingError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
