import ArgumentParser
import Foundation
import Logging
import PlugHost

/// Options that choose which log lines plughost writes to standard error, and how.
struct LogOptions: ParsableArguments {
    /// A `--log-level` value.
    enum Level: String, ExpressibleByArgument, CaseIterable {
        case trace, debug, info, notice, warning, error, critical

        var logger: Logger.Level { Logger.Level(rawValue: rawValue)! }
    }

    /// A `--log-format` value.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json

        var format: LogFormat { LogFormat(rawValue: rawValue)! }
    }

    @Flag(
        name: .shortAndLong,
        help: ArgumentHelp(
            "More log lines on standard error: -v info (what plugins log at INFO), -vv debug, -vvv trace.",
            discussion: "--log-level, when given, wins."))
    var verbose: Int

    @Option(
        help: ArgumentHelp(
            "The least level of the log lines written (default: $PLUGHOST_LOG, else warning).",
            discussion: "PLUGHOST_LOG takes the same names, and warn for warning."))
    var logLevel: Level?

    @Option(
        help: ArgumentHelp(
            "How log lines are written: text (plughost[info] PLUGIN: message key=value) or json (one object per line) (default: $PLUGHOST_LOG_FORMAT, else text)."
        ))
    var logFormat: Format?

    func validate() throws {
        _ = try level()
        _ = try format()
    }

    /// The level: --log-level, else -v's, else PLUGHOST_LOG, else warning.
    func level() throws -> Logger.Level {
        if let logLevel { return logLevel.logger }
        switch verbose {
        case 0: break
        case 1: return .info
        case 2: return .debug
        default: return .trace
        }
        do {
            return try LoggingBootstrap.environmentLevel() ?? LoggingBootstrap.defaultLevel
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// The format: --log-format, else PLUGHOST_LOG_FORMAT, else text.
    func format() throws -> LogFormat {
        if let logFormat { return logFormat.format }
        do {
            return try LoggingBootstrap.environmentFormat() ?? .text
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// Sends swift-log's lines (plughost's and its plugins') to standard error at the chosen
    /// level and in the chosen format.
    func bootstrap() throws {
        LoggingBootstrap.configure(level: try level(), format: try format())
    }
}
