import Foundation
import Logging
import Synchronization

/// plughost's swift-log backend: one line per message on standard error (or another
/// descriptor), as text or JSON, each written with one `write(2)` under a process-wide lock, so
/// lines from concurrent threads never interleave.
///
/// Its level and format are the process-wide ones (``LoggingBootstrap/configure(level:format:)``)
/// unless given, or set on its logger.
///
/// Text: `plughost[info] PLUGIN: message step=ID item=N key=value`. JSON: an object with `time`
/// (ISO 8601, UTC, milliseconds), `level`, `label`, `message` and the metadata keys (a key that
/// would replace one of those four is written as `meta.KEY`); `item` and other integer values
/// are numbers.
public struct PlugHostLogHandler: LogHandler {
    public var logLevel: Logger.Level {
        get { ownLevel ?? LoggingBootstrap.level }
        set { ownLevel = newValue }
    }
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public let label: String
    /// The format of its lines.
    public var format: LogFormat { ownFormat ?? LoggingBootstrap.format }
    private var ownLevel: Logger.Level?
    private let ownFormat: LogFormat?
    /// Where lines go.
    public let fd: Int32

    /// Lines from every handler of the process go out one at a time.
    private static let writeLock = Mutex<Void>(())
    /// Metadata keys written first, in this order, in text lines.
    private static let leadingKeys = ["step", "item"]

    /// A handler for `label`'s logger; `level` and `format` nil: the process-wide ones.
    public init(
        label: String, level: Logger.Level? = nil, format: LogFormat? = nil, fd: Int32 = 2,
        metadataProvider: Logger.MetadataProvider? = nil
    ) {
        self.label = label
        self.ownLevel = level
        self.ownFormat = format
        self.fd = fd
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
        if let own = event.metadata { all.merge(own) { _, new in new } }
        let line =
            switch format {
            case .text: Self.textLine(level: event.level, message: event.message.description, metadata: all)
            case .json: Self.jsonLine(time: Date(), level: event.level, label: label, message: event.message.description, metadata: all)
            }
        Self.writeLock.withLock { _ in Self.writeAll(fd, line) }
    }

    /// `plughost[LEVEL] PLUGIN: message key=value …` and a newline.
    package static func textLine(level: Logger.Level, message: String, metadata: Logger.Metadata) -> [UInt8] {
        var out = Array("plughost[\(level.rawValue)]".utf8)
        if case .string(let plugin)? = metadata["plugin"] {
            out.append(UInt8(ascii: " "))
            out += plugin.utf8
        } else if let plugin = metadata["plugin"] {
            out += " \(plugin)".utf8
        }
        out += ": ".utf8
        out += message.utf8
        let rest = metadata.keys.filter { $0 != "plugin" && !leadingKeys.contains($0) }.sorted()
        for key in leadingKeys.filter({ metadata[$0] != nil }) + rest {
            out += " \(key)=".utf8
            let value = metadata[key]!.description
            if value.isEmpty || value.utf8.contains(where: { $0 <= 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "=") }) {
                JSONWriter.appendQuoted(value, to: &out)
            } else {
                out += value.utf8
            }
        }
        out.append(10)
        return out
    }

    /// One JSON object and a newline.
    package static func jsonLine(time: Date, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata) -> [UInt8] {
        var w = JSONWriter(capacity: 128 + message.utf8.count)
        w.beginObject()
        w.key("time")
        w.string(iso8601(time))
        w.key("level")
        w.string(level.rawValue)
        w.key("label")
        w.string(label)
        w.key("message")
        w.string(message)
        for key in metadata.keys.sorted() {
            w.key(["time", "level", "label", "message"].contains(key) ? "meta.\(key)" : key)
            write(metadata[key]!, to: &w)
        }
        w.endObject()
        var out = w.bytes
        out.append(10)
        return out
    }

    private static func write(_ value: Logger.Metadata.Value, to w: inout JSONWriter) {
        switch value {
        case .string(let s): w.string(s)
        case .stringConvertible(let v):
            switch v {
            case let b as Bool: w.bool(b)
            case let i as any BinaryInteger: w.raw(String(describing: i))
            case let d as Double: w.double(d)
            default: w.string(v.description)
            }
        case .array(let list):
            w.beginArray()
            for item in list { write(item, to: &w) }
            w.endArray()
        case .dictionary(let dict):
            w.beginObject()
            for key in dict.keys.sorted() {
                w.key(key)
                write(dict[key]!, to: &w)
            }
            w.endObject()
        }
    }

    /// `2025-01-02T03:04:05.678Z`.
    package static func iso8601(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970
        var t = time_t(seconds.rounded(.down))
        let millis = min(999, Int((seconds - Double(t)) * 1000))
        var parts = tm()
        gmtime_r(&t, &parts)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(millis), 3))Z"
    }

    /// Writes all of `bytes`, retrying a short write or an interrupted one.
    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                offset += n
            }
        }
    }
}
