import Synchronization

/// Messages that plugins log with a NULL context (during `init` and `shutdown`). The last
/// ones are kept so that a refused `init` can be reported with what the plugin said, whatever
/// the log level.
final class InitLog: Sendable {
    private let lines = Mutex<[(LogLevel, String)]>([])

    /// Records a message and forwards it to the host's log.
    func record(level: LogLevel, message: String) {
        lines.withLock {
            $0.append((level, message))
            if $0.count > 32 { $0.removeFirst($0.count - 32) }
        }
        HostLog.plugin(nil, level: level.loggerLevel, message)
    }

    /// Clears the buffer and returns what it held.
    func drain() -> [(LogLevel, String)] {
        lines.withLock { l in
            defer { l.removeAll() }
            return l
        }
    }
}
