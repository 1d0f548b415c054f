import Logging

/// How ``PlugHostLogHandler`` writes a line.
public enum LogFormat: String, Sendable, CaseIterable {
    /// `plughost[info] PLUGIN: message step=ID item=N`.
    case text
    /// One JSON object per line: `time`, `level`, `label`, `message` and the metadata keys.
    case json
}

extension Logger.Level {
    /// A level by its swift-log name (`trace` … `critical`), or `warn` for `warning` (the name
    /// `PLUGHOST_LOG` has always taken); nil for anything else.
    public init?(plughostName name: String) {
        let lower = name.lowercased()
        if lower == "warn" {
            self = .warning
        } else if let level = Logger.Level(rawValue: lower) {
            self = level
        } else {
            return nil
        }
    }
}
