import Foundation

/// The one JSON writer: appends JSON text to UTF-8 bytes, no white space, commas put in for
/// the caller.
///
/// **The one escaping rule** (``appendQuoted(_:to:)``): `"` and `\` are escaped, as are the
/// control characters U+0000…U+001F (`\n`, `\r`, `\t`, `\b`, `\f`, the others as `\u00xx` in
/// lower-case hex). Nothing else is: not `/` (JSON allows `\/` but never needs it, and an
/// escaped slash would change the canonical cluster export and its pinned digests), not DEL, not
/// non-ASCII characters (written as their UTF-8 bytes). Every JSON plughost writes — the
/// canonical clusters and their digest, workload and export lines, canonical metadata, the
/// SQLite and PostgreSQL JSON columns, the C API's and the CLI's output — escapes this way.
///
/// Members are written in the order the caller writes them; ``JSONValue/canonical`` sorts them.
package struct JSONWriter {
    /// The text so far, as UTF-8.
    package var bytes: [UInt8] = []
    /// Whether the next value or key needs a comma before it.
    private var needsComma = false

    package init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    /// The text so far.
    package var text: String { String(decoding: bytes, as: UTF8.self) }

    @inline(__always) private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    package mutating func beginObject() { separate(); bytes.append(UInt8(ascii: "{")); needsComma = false }
    package mutating func endObject() { bytes.append(UInt8(ascii: "}")); needsComma = true }
    package mutating func beginArray() { separate(); bytes.append(UInt8(ascii: "[")); needsComma = false }
    package mutating func endArray() { bytes.append(UInt8(ascii: "]")); needsComma = true }

    /// An object member's key; its value comes next.
    package mutating func key(_ k: String) {
        separate()
        Self.appendQuoted(k, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    /// JSON text written as it is (already JSON, e.g. canonical metadata).
    package mutating func raw(_ json: String) { separate(); bytes.append(contentsOf: json.utf8); needsComma = true }
    package mutating func null() { raw("null") }
    package mutating func bool(_ b: Bool) { raw(b ? "true" : "false") }
    package mutating func int(_ v: some BinaryInteger) { raw(String(v)) }
    /// A double as the shortest text that reads back as it; `null` when not finite.
    package mutating func double(_ d: Double) { raw(d.isFinite ? "\(d)" : "null") }
    package mutating func string(_ s: String) { separate(); Self.appendQuoted(s, to: &bytes); needsComma = true }
    package mutating func string(_ s: String?) { if let s { string(s) } else { null() } }

    /// An array of strings.
    package mutating func strings(_ list: some Sequence<String>) {
        beginArray()
        for s in list { string(s) }
        endArray()
    }

    /// `key` and a value written by `body`.
    package mutating func member(_ k: String, _ body: (inout JSONWriter) -> Void) {
        key(k)
        body(&self)
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends `s` as a JSON string literal, escaped by the one rule (see the type).
    package static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Fast path: nothing to escape, the bytes go in whole.
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out.append(contentsOf: s.utf8)
        } else {
            for b in s.utf8 {
                switch b {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(b)
                case 0x0A: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
                case 0x0D: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
                case 0x09: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
                case 0x08: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "b"))
                case 0x0C: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "f"))
                case 0..<0x20:
                    out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                    out.append(hex[Int(b >> 4)])
                    out.append(hex[Int(b & 0xF)])
                default: out.append(b)
                }
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// `s` as a JSON string literal.
    package static func quoted(_ s: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count + 2)
        appendQuoted(s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Writes `value` (a ``JSONValue``): members in their order, or sorted when `canonical`.
    package mutating func value(_ value: JSONValue, canonical: Bool = false) {
        switch value {
        case .null, .other: null()
        case .bool(let b): bool(b)
        case .number(let n):
            // A literal read from JSON ends in a digit; a bridged non-finite double ("nan",
            // "inf") has no JSON form.
            if let last = n.literal.utf8.last, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(last) { raw(n.literal) } else { null() }
        case .string(let s): string(s)
        case .array(let items):
            beginArray()
            for item in items { self.value(item, canonical: canonical) }
            endArray()
        case .integers(let ints):
            beginArray()
            bytes.reserveCapacity(bytes.count + ints.count * 4)
            for (i, v) in ints.enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                if (0..<10).contains(v) {
                    bytes.append(UInt8(ascii: "0") + UInt8(v))
                } else {
                    bytes.append(contentsOf: String(v).utf8)
                }
            }
            endArray()
        case .object(let members):
            beginObject()
            if canonical {
                // A key given twice keeps its last value; keys sorted in UTF-8 byte order.
                var last: [String: Int] = [:]
                for (i, m) in members.enumerated() { last[m.key] = i }
                let kept = members.indices.filter { last[members[$0].key] == $0 }
                    .sorted { ConceptKey.precedes(members[$0].key, members[$1].key) }
                for i in kept {
                    key(members[i].key)
                    self.value(members[i].value, canonical: true)
                }
            } else {
                for m in members {
                    key(m.key)
                    self.value(m.value)
                }
            }
            endObject()
        }
    }
}

extension JSONValue {
    /// The canonical text of this value: no white space; object members sorted by key in UTF-8
    /// byte order, a key given twice keeping its last value (as most JSON readers do); strings
    /// escaped by ``JSONWriter``'s one rule; numbers exactly as written. The canonical text of
    /// canonical text is itself, byte for byte, and nothing of the value is lost (numbers are
    /// not rounded).
    package var canonical: String {
        var w = JSONWriter()
        w.value(self, canonical: true)
        return w.text
    }

    /// The canonical text of a `JSONSerialization`-style object (`[String: Any]`, `[Any]`,
    /// strings, numbers, `NSNull`; see ``init(_:)``): how the C API and the CLI write the JSON
    /// they build as dictionaries. Values that are not JSON are written as `null`.
    package static func canonicalText(of object: Any) -> String {
        JSONValue(object).canonical
    }

    /// The canonical text of JSON object text (what a memory's `metadata` holds), or an error
    /// saying why it is not a JSON object.
    package static func canonicalObject(_ text: String) throws -> String {
        let v = try JSONReader.parse(text)
        guard case .object = v else { throw JSONSchemaError("not a JSON object (it is \(v.kind))") }
        return v.canonical
    }
}
