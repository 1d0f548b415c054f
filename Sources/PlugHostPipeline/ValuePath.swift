import Foundation
import PlugHost

/// A path into a structured value, written after a reference: `${steps.ID.person.name}`,
/// `${item[0]}`, `${inputs.rows[-1].id}`. Each component is `.KEY` (a key of a JSON object)
/// or `[N]` (an index of a list or a JSON array; a negative N counts from the end, `[-1]` is the
/// last item).
///
/// Resolution (``resolve(_:base:)``):
/// - `[N]` on a list, or on text holding a JSON array, is that element;
/// - `.KEY` on text holding a JSON object is that key's value;
/// - `.KEY` on a list (or on text holding a JSON array) applies to every item and gives the
///   list of the results, like jq's `.[].KEY`;
/// - a JSON integer becomes an integer, a fraction a double, `true`/`false` a boolean, a string
///   a string and `null` void; a nested object stays compact JSON text (so a further path can
///   address it) and a JSON array becomes a list of its elements.
/// A missing key, an index out of range or text that is not JSON is a run-time error naming the
/// path prefix that failed.
public struct ValuePath: Sendable, Hashable, CustomStringConvertible {
    /// One step of a path.
    public enum Component: Sendable, Hashable, CustomStringConvertible {
        /// `.KEY`
        case key(String)
        /// `[N]`; negative counts from the end.
        case index(Int)

        public var description: String {
            switch self {
            case .key(let k): ".\(k)"
            case .index(let i): "[\(i)]"
            }
        }
    }

    /// The components, in order.
    public var components: [Component]

    /// Creates a path.
    public init(_ components: [Component] = []) { self.components = components }

    /// The path with no components: the value itself.
    public static let empty = ValuePath()

    /// True when it has no components.
    public var isEmpty: Bool { components.isEmpty }

    /// The path as written, e.g. `.person.emails[0]` (empty for the empty path).
    public var description: String { components.map(\.description).joined() }

    /// Parses a path as written after a reference's name: `.a.b[0][-1].c`. Throws a message
    /// for an empty key, an unclosed `[`, an index that is not an integer or a stray character.
    public static func parse(_ text: Substring) throws(TemplateError) -> ValuePath {
        var components: [Component] = []
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            if c == "." {
                let start = text.index(after: i)
                var end = start
                while end < text.endIndex, text[end] != ".", text[end] != "[", text[end] != "]" { end = text.index(after: end) }
                let key = text[start..<end].trimmingCharacters(in: .whitespaces)
                guard !key.isEmpty else {
                    throw TemplateError("empty key in the path \(String(text).debugDescription) (write .KEY or [N])")
                }
                components.append(.key(key))
                i = end
            } else if c == "[" {
                guard let close = text[i...].firstIndex(of: "]") else {
                    throw TemplateError("unclosed [ in the path \(String(text).debugDescription)")
                }
                let raw = text[text.index(after: i)..<close].trimmingCharacters(in: .whitespaces)
                guard let n = Int(raw) else {
                    throw TemplateError(
                        "[\(raw)] in the path \(String(text).debugDescription) is not an index (write [N], or [-N] from the end)")
                }
                components.append(.index(n))
                i = text.index(after: close)
            } else {
                throw TemplateError(
                    "unexpected \(String(c).debugDescription) in the path \(String(text).debugDescription) (write .KEY or [N])")
            }
        }
        return ValuePath(components)
    }

    /// Resolves the path on `value`. `base` names the value in errors (`steps.extract`); the
    /// error names the prefix that failed (`steps.extract.person has no key "age" (keys: name)`).
    public func resolve(_ value: PipelineValue, base: String) throws(ValuePathError) -> PipelineValue {
        try Self.resolve(value, components[...], prefix: base)
    }

    private static func resolve(
        _ value: PipelineValue, _ rest: ArraySlice<Component>, prefix: String
    ) throws(ValuePathError)
        -> PipelineValue
    {
        guard let first = rest.first else { return value }
        let next = prefix + first.description
        switch (first, structure(of: value)) {
        case (.index(let n), .list(let items)):
            let k = n < 0 ? items.count + n : n
            guard items.indices.contains(k) else {
                throw ValuePathError(
                    "\(prefix) has no index \(n) (it has \(items.count) item\(items.count == 1 ? "" : "s"))")
            }
            return try resolve(items[k], rest.dropFirst(), prefix: next)
        case (.key, .list(let items)):
            // A key on a list applies to every item (jq's `.[].key`).
            var out: [PipelineValue] = []
            for (i, item) in items.enumerated() {
                out.append(try resolve(item, rest, prefix: "\(prefix)[\(i)]"))
            }
            return .list(out)
        case (.key(let k), .object(let members)):
            guard let found = members.last(where: { $0.key == k }) else {
                throw ValuePathError(
                    "\(prefix) has no key \(k.debugDescription) (keys: \(members.isEmpty ? "none" : members.map(\.key).joined(separator: ", ")))"
                )
            }
            return try resolve(found.value.pipelineValue, rest.dropFirst(), prefix: next)
        case (.index, .object):
            throw ValuePathError("\(prefix) is a JSON object, not a list (use .KEY)")
        case (_, .scalar(let v)):
            let what = first.isIndex ? "a list or JSON array" : "a JSON object"
            switch v {
            case .string(let s):
                throw ValuePathError("\(prefix) is not \(what) (it is the text \(PipelineRunner.abbreviate(s).debugDescription))")
            case .void:
                throw ValuePathError("\(prefix) is not \(what) (it is empty)")
            default:
                throw ValuePathError("\(prefix) is not \(what) (it is \(v.text))")
            }
        }
    }

    private enum Structure {
        case list([PipelineValue])
        case object([PipelineJSON.Member])
        case scalar(Value)
    }

    /// What a value is, for a path: a list (also text holding a JSON array), an object (text
    /// holding a JSON object) or anything else.
    private static func structure(of value: PipelineValue) -> Structure {
        switch value {
        case .list(let items): return .list(items)
        case .value(.string(let s)):
            switch PipelineJSON.parse(s) {
            case .array(let a)?: return .list(a.map(\.pipelineValue))
            case .object(let o)?: return .object(o)
            default: return .scalar(.string(s))
            }
        case .value(let v): return .scalar(v)
        }
    }
}

extension ValuePath.Component {
    fileprivate var isIndex: Bool {
        if case .index = self { return true }
        return false
    }
}

/// A path that does not fit its value (a missing key, an index out of range, text that is not
/// JSON). The message names the path prefix that failed.
public struct ValuePathError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public let message: String
    init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension PipelineValue {
    /// The items a `foreach` iterates: a list's items; the elements of text holding a JSON array
    /// (converted as a path converts them: integers, doubles, booleans, strings, void, objects as
    /// JSON text, arrays as lists); anything else is one item.
    public var items: [PipelineValue] {
        switch self {
        case .list(let l): return l
        case .value(.string(let s)):
            if case .array(let a)? = PipelineJSON.parse(s) { return a.map(\.pipelineValue) }
            return [self]
        case .value: return [self]
        }
    }

    /// True when it is text holding a JSON array (so a `foreach` iterates its elements).
    public var isJSONArrayText: Bool {
        if case .value(.string(let s)) = self, case .array? = PipelineJSON.parse(s) { return true }
        return false
    }
}

/// The items a `foreach` over `v` runs for: see ``PipelineValue/items``.
public func foreachItems(_ v: PipelineValue) -> [PipelineValue] { v.items }

/// A JSON value, keeping object key order and integers apart from fractions.
enum PipelineJSON: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([PipelineJSON])
    case object([Member])

    struct Member: Sendable, Hashable {
        var key: String
        var value: PipelineJSON
    }

    /// The pipeline value it stands for (see ``ValuePath``).
    var pipelineValue: PipelineValue {
        switch self {
        case .null: .value(.void)
        case .bool(let b): .value(.bool(b))
        case .int(let i): .value(.int(i))
        case .double(let d): .value(.double(d))
        case .string(let s): .value(.string(s))
        case .array(let a): .list(a.map(\.pipelineValue))
        case .object: .value(.string(compactText))
        }
    }

    /// Compact JSON text.
    var compactText: String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += d.isFinite ? "\(d)" : "null"
        case .string(let s): Self.writeString(s, to: &out)
        case .array(let a):
            out += "["
            for (i, v) in a.enumerated() {
                if i > 0 { out += "," }
                v.write(to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (i, m) in members.enumerated() {
                if i > 0 { out += "," }
                Self.writeString(m.key, to: &out)
                out += ":"
                m.value.write(to: &out)
            }
            out += "}"
        }
    }

    private static func writeString(_ s: String, to out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    out += String(format: "\\u%04x", u.value)
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }

    /// Parses `text` when it is a JSON object or array (surrounding whitespace allowed); nil
    /// for anything else, including bare JSON scalars (`5`, `"x"`), which stay text.
    static func parse(_ text: String) -> PipelineJSON? {
        let bytes = Array(text.utf8)
        var p = Parser(bytes: bytes)
        p.skipSpace()
        guard p.i < bytes.count, bytes[p.i] == UInt8(ascii: "{") || bytes[p.i] == UInt8(ascii: "[") else { return nil }
        guard let v = p.value() else { return nil }
        p.skipSpace()
        return p.i == bytes.count ? v : nil
    }

    private struct Parser {
        let bytes: [UInt8]
        var i = 0
        var depth = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func skipSpace() {
            while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
        }

        mutating func literal(_ word: String, _ v: PipelineJSON) -> PipelineJSON? {
            let w = Array(word.utf8)
            guard i + w.count <= bytes.count, Array(bytes[i..<i + w.count]) == w else { return nil }
            i += w.count
            return v
        }

        mutating func value() -> PipelineJSON? {
            skipSpace()
            guard i < bytes.count else { return nil }
            switch bytes[i] {
            case UInt8(ascii: "{"):
                depth += 1
                defer { depth -= 1 }
                guard depth < 512 else { return nil }
                i += 1
                var members: [Member] = []
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
                    i += 1
                    return .object(members)
                }
                while true {
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: "\""), let key = string() else { return nil }
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return nil }
                    i += 1
                    guard let v = value() else { return nil }
                    members.append(Member(key: key, value: v))
                    skipSpace()
                    guard i < bytes.count else { return nil }
                    if bytes[i] == UInt8(ascii: ",") {
                        i += 1
                    } else if bytes[i] == UInt8(ascii: "}") {
                        i += 1
                        return .object(members)
                    } else {
                        return nil
                    }
                }
            case UInt8(ascii: "["):
                depth += 1
                defer { depth -= 1 }
                guard depth < 512 else { return nil }
                i += 1
                var items: [PipelineJSON] = []
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
                    i += 1
                    return .array(items)
                }
                while true {
                    guard let v = value() else { return nil }
                    items.append(v)
                    skipSpace()
                    guard i < bytes.count else { return nil }
                    if bytes[i] == UInt8(ascii: ",") {
                        i += 1
                    } else if bytes[i] == UInt8(ascii: "]") {
                        i += 1
                        return .array(items)
                    } else {
                        return nil
                    }
                }
            case UInt8(ascii: "\""): return string().map { .string($0) }
            case UInt8(ascii: "t"): return literal("true", .bool(true))
            case UInt8(ascii: "f"): return literal("false", .bool(false))
            case UInt8(ascii: "n"): return literal("null", .null)
            default: return number()
            }
        }

        mutating func number() -> PipelineJSON? {
            let start = i
            var fractional = false
            if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
            let digitsStart = i
            while i < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) { i += 1 }
            guard i > digitsStart else { return nil }
            if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
                fractional = true
                i += 1
                let f = i
                while i < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) { i += 1 }
                guard i > f else { return nil }
            }
            if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
                fractional = true
                i += 1
                if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
                let e = i
                while i < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) { i += 1 }
                guard i > e else { return nil }
            }
            let text = String(decoding: bytes[start..<i], as: UTF8.self)
            if !fractional, let n = Int64(text) { return .int(n) }
            return Double(text).map { .double($0) }
        }

        mutating func string() -> String? {
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { return nil }
            i += 1
            var out: [UInt8] = []
            while i < bytes.count {
                let b = bytes[i]
                i += 1
                switch b {
                case UInt8(ascii: "\""): return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard i < bytes.count else { return nil }
                    let e = bytes[i]
                    i += 1
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        guard var code = hex4() else { return nil }
                        if (0xD800..<0xDC00).contains(code) {
                            // A surrogate pair.
                            guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                                return nil
                            }
                            i += 2
                            guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let scalar = Unicode.Scalar(code) else { return nil }
                        out += Array(String(Character(scalar)).utf8)
                    default: return nil
                    }
                default:
                    guard b >= 0x20 else { return nil }
                    out.append(b)
                }
            }
            return nil
        }

        mutating func hex4() -> UInt32? {
            guard i + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[i..<i + 4], as: UTF8.self), radix: 16) else { return nil }
            i += 4
            return v
        }
    }
}
