import Logging

/// A log line a worker sends its host (a ``WireKind/log`` frame): the level, the message and
/// the metadata as text. The host, not the worker, decides who logged it and how it is
/// written.
package struct WireLogLine: Sendable {
    package var level: Logger.Level
    package var message: String
    package var metadata: [(String, String)]

    package init(level: Logger.Level, message: String, metadata: [(String, String)]) {
        self.level = level
        self.message = message
        self.metadata = metadata
    }

    /// The frame.
    package func frame() -> [UInt8] {
        var w = WireWriter(.log, capacity: 32 + message.utf8.count)
        w.u8(UInt8(Logger.Level.allCases.firstIndex(of: level)!))
        w.string(message)
        w.u32(UInt32(metadata.count))
        for (key, value) in metadata {
            w.string(key)
            w.string(value)
        }
        return w.finish()
    }

    /// Reads a ``WireKind/log`` frame's fields.
    package init(_ r: inout WireReader) throws {
        let index = Int(try r.u8())
        guard index < Logger.Level.allCases.count else { throw WireError("unknown log level \(index)") }
        level = Logger.Level.allCases[index]
        message = try r.string()
        let count = Int(try r.u32())
        guard count <= 64 else { throw WireError("a log line with \(count) metadata keys (at most 64)") }
        metadata = try (0..<count).map { _ in (try r.string(), try r.string()) }
    }
}
