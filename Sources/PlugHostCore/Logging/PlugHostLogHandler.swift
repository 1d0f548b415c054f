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
        // A message of several lines (a worker's output read at once) is a line each, written at once.
        var message = event.message.description
        let lines = message.withUTF8 { Self.lines(of: $0) }
        let out =
            switch format {
            case .text: Self.textLines(level: event.level, lines: lines, metadata: all)
            case .json: Self.jsonLines(time: Date(), level: event.level, label: label, lines: lines, metadata: all)
            }
        Self.writeLock.withLock { _ in out.withUnsafeBytes { FileDescriptorWriter.writeAll(fd, $0) } }
    }

    /// The lines of `text` (split at each newline; a message without one is one line).
    private static func lines(of text: UnsafeBufferPointer<UInt8>) -> [ArraySlice<UInt8>] {
        guard let base = text.baseAddress, memchr(base, 10, text.count) != nil else { return [ArraySlice(text)] }
        let all = Array(text)
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        while let nl = memchr(base + start, 10, text.count - start) {
            let end = base.distance(to: nl.assumingMemoryBound(to: UInt8.self))
            lines.append(all[start..<end])
            start = end + 1
        }
        lines.append(all[start...])
        return lines
    }

    /// `plughost[LEVEL] PLUGIN: line key=value …` and a newline, for each line.
    package static func textLines(level: Logger.Level, lines: [ArraySlice<UInt8>], metadata: Logger.Metadata) -> [UInt8] {
        var prefix = Array("plughost[\(level.rawValue)]".utf8)
        if case .string(let plugin)? = metadata["plugin"] {
            prefix.append(UInt8(ascii: " "))
            prefix += plugin.utf8
        } else if let plugin = metadata["plugin"] {
            prefix += " \(plugin)".utf8
        }
        prefix += ": ".utf8
        var suffix: [UInt8] = []
        let rest = metadata.keys.filter { $0 != "plugin" && !leadingKeys.contains($0) }.sorted()
        for key in leadingKeys.filter({ metadata[$0] != nil }) + rest {
            suffix += " \(key)=".utf8
            let value = metadata[key]!.description
            if value.isEmpty || value.utf8.contains(where: { $0 <= 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "=") }) {
                JSONWriter.appendQuoted(value, to: &suffix)
            } else {
                suffix += value.utf8
            }
        }
        suffix.append(10)
        var out: [UInt8] = []
        out.reserveCapacity(lines.reduce(0) { $0 + $1.count + prefix.count + suffix.count })
        for line in lines {
            out += prefix
            out += line
            out += suffix
        }
        return out
    }

    /// One JSON object and a newline for each line.
    package static func jsonLines(
        time: Date, level: Logger.Level, label: String, lines: [ArraySlice<UInt8>], metadata: Logger.Metadata
    )
        -> [UInt8]
    {
        var head = JSONWriter(capacity: 96)
        head.beginObject()
        head.key("time")
        head.string(iso8601(time))
        head.key("level")
        head.string(level.rawValue)
        head.key("label")
        head.string(label)
        head.key("message")
        var tail = JSONWriter(capacity: 64)
        tail.beginObject()
        for key in metadata.keys.sorted() {
            tail.key(["time", "level", "label", "message"].contains(key) ? "meta.\(key)" : key)
            write(metadata[key]!, to: &tail)
        }
        tail.endObject()
        // `{"k":v,…}` → `,"k":v,…}`; `{}` → `}`.
        var suffix = tail.bytes.count > 2 ? [UInt8(ascii: ",")] + tail.bytes.dropFirst() : [UInt8(ascii: "}")]
        suffix.append(10)
        var out: [UInt8] = []
        for line in lines {
            out += head.bytes
            JSONWriter.appendQuoted(String(decoding: line, as: UTF8.self), to: &out)
            out += suffix
        }
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
}
