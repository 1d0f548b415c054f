import Foundation
import Synchronization

/// Where plugin log lines go: standard error, at or above a level set by `PLUGHOST_LOG`
/// (debug, info, warn, error; default warn).
public enum HostLog {
    private static let threshold: LogLevel = {
        switch ProcessInfo.processInfo.environment["PLUGHOST_LOG"]?.lowercased() {
        case "debug": .debug
        case "info": .info
        case "error": .error
        default: .warn
        }
    }()

    /// Writes one line to standard error when `level` is at or above the threshold.
    public static func emit(plugin: String?, level: LogLevel, message: String) {
        guard level >= threshold else { return }
        let tag = ["debug", "info", "warn", "error"][level.rawValue]
        let line = "plughost[\(tag)]\(plugin.map { " \($0)" } ?? ""): \(message)\n"
        FileHandle.standardError.write(Data(line.utf8))
    }
}
