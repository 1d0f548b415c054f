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

    /// Whether lines at `level` are written.
    public static func isEnabled(_ level: LogLevel) -> Bool { level >= threshold }

    /// Writes lines (each without its newline) to standard error with one write, when `level` is
    /// at or above the threshold.
    package static func emit(plugin: String?, level: LogLevel, lines: some Sequence<some Collection<UInt8>>) {
        guard level >= threshold else { return }
        let prefix = Array("plughost[\(["debug", "info", "warn", "error"][level.rawValue])]\(plugin.map { " \($0)" } ?? ""): ".utf8)
        var out: [UInt8] = []
        for line in lines {
            out += prefix
            out += line
            out.append(10)
        }
        out.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(2, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                offset += n
            }
        }
    }

    /// Writes one line to standard error when `level` is at or above the threshold.
    public static func emit(plugin: String?, level: LogLevel, message: String) {
        guard level >= threshold else { return }
        let tag = ["debug", "info", "warn", "error"][level.rawValue]
        let line = "plughost[\(tag)]\(plugin.map { " \($0)" } ?? ""): \(message)\n"
        FileHandle.standardError.write(Data(line.utf8))
    }
}
