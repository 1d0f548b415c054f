import Crypto
import Foundation
import PlugHost
import PlugHostCore
import Synchronization

/// A run's journal: which items of which step succeeded, with their results, so that
/// `plughost run --resume` re-runs only what did not finish and gives the same results for what
/// did.
///
/// One JSON object per line, appended as each item finishes (after its memory writes were
/// acknowledged): a header naming the pipeline's fingerprint and goal, then
/// `{"s": STEP, "i": INDEX, "h": ITEM-HASH, "r": RESULT}` per item, and `{"done": true}` when the
/// run finished. Each line is one `write(2)`, so a killed process leaves whole lines (a torn last
/// line is ignored on reading). An item is restored only when its step, position and text hash
/// all match, so a changed input file re-runs the items that changed.
public final class RunJournal: Sendable {
    /// The journal file.
    public let path: String
    /// The fingerprint of the pipeline run it records (file, goal, inputs).
    public let fingerprint: String
    private let fd: Int32
    private let done: [Key: PipelineValue]
    private let writeLock = Mutex<Void>(())

    struct Key: Hashable {
        var step: String
        var index: Int
        var hash: String
    }

    /// Opens the journal at `path`: a new one (an existing file is replaced), or with `resume`
    /// the existing one, whose items are then restored; it must record the same fingerprint.
    public init(path: String, fingerprint: String, goal: String, pipeline: String, resume: Bool) throws {
        self.path = path
        self.fingerprint = fingerprint
        var restored: [Key: PipelineValue] = [:]
        if resume {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw PipelineError(
                    .journal, file: pipeline,
                    "nothing to resume: there is no run journal for this pipeline and goal \(goal) at \(path) (run it without --resume first)"
                )
            }
            var first = true
            for line in data.split(separator: UInt8(ascii: "\n")) {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else { continue }
                if first {
                    first = false
                    guard object["plughost_journal"] as? Int == 1 else {
                        throw PipelineError(.journal, file: pipeline, "\(path) is not a plughost run journal")
                    }
                    guard object["fingerprint"] as? String == fingerprint else {
                        throw PipelineError(
                            .journal, file: pipeline,
                            "cannot resume: the pipeline file, its goal or its inputs changed since the journal \(path) was written; run it without --resume"
                        )
                    }
                    continue
                }
                // `{"done": true}` (the run finished) restores nothing more.
                guard let step = object["s"] as? String, let index = object["i"] as? Int, let hash = object["h"] as? String,
                    let value = object["r"].flatMap(Self.decode)
                else { continue }
                restored[Key(step: step, index: index, hash: hash)] = value
            }
            if first { throw PipelineError(.journal, file: pipeline, "the run journal \(path) is empty") }
        }
        done = restored
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (resume ? O_APPEND : O_TRUNC)
        fd = open(path, flags, 0o644)
        guard fd >= 0 else {
            throw PipelineError(.journal, file: pipeline, "cannot write the run journal \(path): \(String(cString: strerror(errno)))")
        }
        if resume {
            _ = lseek(fd, 0, SEEK_END)
        } else {
            append([
                "plughost_journal": 1, "fingerprint": fingerprint, "goal": goal, "pipeline": pipeline,
                "started": ISO8601DateFormatter().string(from: Date()),
            ])
        }
    }

    deinit { close(fd) }

    /// Items restored from the journal so far available (for messages).
    public var restorable: Int { done.count }

    /// The recorded result of item `index` (0 for a step without foreach) of `step`, if that item
    /// finished with the same text.
    func restored(step: String, index: Int, item: PipelineValue?) -> PipelineValue? {
        done[Key(step: step, index: index, hash: Self.hash(item))]
    }

    /// Records that item `index` of `step` finished with `value`: one line per item, on the hot
    /// path, so written with ``JSONWriter`` (keys in sorted order, as `append` writes them).
    func record(step: String, index: Int, item: PipelineValue?, value: PipelineValue) {
        var w = JSONWriter(capacity: 128)
        w.beginObject()
        w.key("h")
        w.string(Self.hash(item))
        w.key("i")
        w.int(index)
        w.key("r")
        Self.write(value, to: &w)
        w.key("s")
        w.string(step)
        w.endObject()
        w.bytes.append(UInt8(ascii: "\n"))
        write(Data(w.bytes))
    }

    /// Records that the run finished.
    func finish() { append(["done": true]) }

    private func append(_ object: [String: Any]) {
        guard var data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return
        }
        data.append(UInt8(ascii: "\n"))
        write(data)
    }

    /// One `write(2)` of a whole line (retried on a short write).
    private func write(_ data: Data) {
        writeLock.withLock { _ in data.withUnsafeBytes { FileDescriptorWriter.writeAll(fd, $0) } }
    }

    /// A short hash of an item's text (the empty item for a step without foreach).
    static func hash(_ item: PipelineValue?) -> String {
        let text = item.map { $0.text } ?? ""
        let digits = Array("0123456789abcdef".utf8)
        var hex = [UInt8]()
        hex.reserveCapacity(24)
        for b in SHA256.hash(data: Data(text.utf8)).prefix(12) {
            hex.append(digits[Int(b >> 4)])
            hex.append(digits[Int(b & 15)])
        }
        return String(decoding: hex, as: UTF8.self)
    }

    /// A value as JSON that keeps its type: `{"int": 5}`, `{"string": "…"}`, `{"list": [...]}`
    /// (doubles as their bit pattern and 64-bit unsigned integers as text, so they read back exactly).
    static func write(_ v: PipelineValue, to w: inout JSONWriter) {
        w.beginObject()
        switch v {
        case .list(let items):
            w.key("list")
            w.beginArray()
            for i in items { write(i, to: &w) }
            w.endArray()
        case .value(let x):
            switch x {
            case .void:
                w.key("void")
                w.bool(true)
            case .bool(let b):
                w.key("bool")
                w.bool(b)
            case .int(let i):
                w.key("int")
                w.int(i)
            case .uint(let u):
                w.key("uint")
                w.string(String(u))
            case .double(let d):
                w.key("double")
                w.string(d.bitPattern.description)
            case .string(let s):
                w.key("string")
                w.string(s)
            case .buffer(let b):
                w.key("buffer")
                w.string(Data(b).base64EncodedString())
            case .pointer(let p):
                w.key("pointer")
                w.string(String(p))
            }
        }
        w.endObject()
    }

    static func decode(_ any: Any) -> PipelineValue? {
        guard let o = any as? [String: Any], o.count == 1, let (k, v) = o.first else { return nil }
        switch k {
        case "list":
            return (v as? [Any]).flatMap { l in
                let items = l.compactMap(decode)
                return items.count == l.count ? .list(items) : nil
            }
        case "void": return .value(.void)
        case "bool": return (v as? Bool).map { .value(.bool($0)) }
        case "int": return (v as? NSNumber).map { .value(.int($0.int64Value)) }
        case "uint": return (v as? String).flatMap(UInt64.init).map { .value(.uint($0)) }
        case "double": return (v as? String).flatMap(UInt64.init).map { .value(.double(Double(bitPattern: $0))) }
        case "string": return (v as? String).map { .value(.string($0)) }
        case "buffer": return (v as? String).flatMap { Data(base64Encoded: $0) }.map { .value(.buffer([UInt8]($0))) }
        case "pointer": return (v as? String).flatMap(UInt.init).map { .value(.pointer($0)) }
        default: return nil
        }
    }

    /// The journal of `pipeline` run for `goal`, under `folder`: one file per pipeline file and
    /// goal, `NAME-HASH.journal`.
    public static func defaultPath(folder: String, pipeline: String, name: String, goal: String) -> String {
        let absolute = URL(fileURLWithPath: pipeline).standardizedFileURL.path
        let key = SHA256.hash(data: Data("\(absolute)\u{0}\(goal)".utf8)).prefix(6).map { String(format: "%02x", $0) }.joined()
        let safe = String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" }.prefix(40))
        return (folder as NSString).appendingPathComponent("\(safe)-\(key).journal")
    }
}
