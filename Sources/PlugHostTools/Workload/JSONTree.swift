import Foundation
import PlugHost
import PlugHostPostgres

/// JSON text parsed without loss (RFC 8259): numbers keep their literal text, booleans are
/// not numbers, and objects keep their members in order, duplicates included.
///
/// Workload lines are read with it so that `ttl_ms` can be checked for exactly what was
/// written (`true`, `1.9` and `"5"` are not integers), and so that `metadata` has one
/// **canonical form** (``canonical``) that an export → replay round trip keeps byte for byte.
enum JSONTree: Sendable {
    case null
    case bool(Bool)
    /// The number's literal, as written (valid RFC 8259 number grammar).
    case number(String)
    case string(String)
    case array([JSONTree])
    /// Members in the order written.
    case object([Member])

    /// One member of an object.
    struct Member: Sendable {
        var key: String
        var value: JSONTree
    }

    /// Why text is not JSON: what, and the 1-based byte position in the text.
    struct SyntaxError: Error, Sendable, CustomStringConvertible {
        let message: String
        let position: Int
        var description: String { "\(message) at byte \(position)" }
    }

    /// Nesting deeper than this is refused (the parser recurses).
    static let maxDepth = 512

    /// Parses `text`: one JSON value, white space around it, nothing else.
    static func parse(_ text: some StringProtocol) throws -> JSONTree {
        var copy = String(text)
        return try copy.withUTF8 { try parse(bytes: $0) }
    }

    /// Parses UTF-8 `bytes` (already valid UTF-8): one JSON value, white space around it.
    static func parse(bytes: UnsafeBufferPointer<UInt8>) throws -> JSONTree {
        var p = Parser(bytes: bytes)
        p.skipSpace()
        let v = try p.value(depth: 0)
        p.skipSpace()
        guard p.i == bytes.count else { throw p.error("unexpected text after the JSON value") }
        return v
    }

    // MARK: - Canonical form

    /// The canonical text of this value: no white space; object members sorted by key in UTF-8
    /// byte order, a key given twice keeping its last value (as most JSON readers do); strings
    /// escaped as the canonical cluster export escapes them (only `"`, `\` and control
    /// characters); numbers exactly as written. The canonical text of canonical text is itself,
    /// byte for byte, and nothing of the value is lost (numbers are not rounded).
    var canonical: String {
        var out = ""
        appendCanonical(to: &out)
        return out
    }

    func appendCanonical(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let literal): out += literal
        case .string(let s): CanonicalClusters.appendString(s, to: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.appendCanonical(to: &out)
            }
            out += "]"
        case .object(let members):
            var last: [String: Int] = [:]
            for (i, m) in members.enumerated() { last[m.key] = i }
            let kept = members.indices.filter { last[members[$0].key] == $0 }
                .sorted { ConceptKey.precedes(members[$0].key, members[$1].key) }
            out += "{"
            for (n, i) in kept.enumerated() {
                if n > 0 { out += "," }
                CanonicalClusters.appendString(members[i].key, to: &out)
                out += ":"
                members[i].value.appendCanonical(to: &out)
            }
            out += "}"
        }
    }

    /// The canonical text of JSON object text (what a memory's `metadata` holds), or an error
    /// saying why it is not a JSON object.
    static func canonicalObject(_ text: String) throws -> String {
        let tree = try parse(text)
        guard case .object = tree else { throw SyntaxError(message: "not a JSON object (it is \(tree.kind))", position: 1) }
        return tree.canonical
    }

    /// What the value is, for messages: `true`, `the number 1.9`, `the string "5"`, `an array`.
    var kind: String {
        switch self {
        case .null: "null"
        case .bool(let b): b ? "true" : "false"
        case .number(let literal): "the number \(literal)"
        case .string(let s): "the string \(s.count > 40 ? String(s.prefix(40)).debugDescription + "…" : s.debugDescription)"
        case .array: "an array"
        case .object: "an object"
        }
    }

    // MARK: - Parser

    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var i = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        func error(_ message: String) -> SyntaxError { SyntaxError(message: message, position: i + 1) }

        mutating func skipSpace() {
            while i < bytes.count {
                switch bytes[i] {
                case 0x20, 0x09, 0x0A, 0x0D: i += 1
                default: return
                }
            }
        }

        mutating func literal(_ word: StaticString, _ v: JSONTree) throws -> JSONTree {
            let n = word.utf8CodeUnitCount
            guard i + n <= bytes.count, memcmp(bytes.baseAddress! + i, word.utf8Start, n) == 0 else {
                throw error("invalid literal (expected \(word))")
            }
            i += n
            return v
        }

        mutating func value(depth: Int) throws -> JSONTree {
            guard depth < JSONTree.maxDepth else { throw error("nesting deeper than \(JSONTree.maxDepth)") }
            guard i < bytes.count else { throw error("unexpected end of text") }
            switch bytes[i] {
            case UInt8(ascii: "n"): return try literal("null", .null)
            case UInt8(ascii: "t"): return try literal("true", .bool(true))
            case UInt8(ascii: "f"): return try literal("false", .bool(false))
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
            case UInt8(ascii: "["):
                i += 1
                var items: [JSONTree] = []
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
                    i += 1
                    return .array(items)
                }
                while true {
                    skipSpace()
                    items.append(try value(depth: depth + 1))
                    skipSpace()
                    guard i < bytes.count else { throw error("unterminated array") }
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                    throw error("expected , or ] in an array")
                }
            case UInt8(ascii: "{"):
                i += 1
                var members: [Member] = []
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
                    i += 1
                    return .object(members)
                }
                while true {
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw error("expected a string key in an object") }
                    let key = try string()
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw error("expected : after an object key") }
                    i += 1
                    skipSpace()
                    members.append(Member(key: key, value: try value(depth: depth + 1)))
                    skipSpace()
                    guard i < bytes.count else { throw error("unterminated object") }
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
                    throw error("expected , or } in an object")
                }
            default:
                throw error("unexpected character")
            }
        }

        mutating func hex4() throws -> UInt32 {
            guard i + 4 <= bytes.count else { throw error("truncated \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = bytes[i]
                let d: UInt32
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
                default: throw error("invalid \\u escape")
                }
                v = v << 4 | d
                i += 1
            }
            return v
        }

        /// A string literal at `i` (its opening quote).
        mutating func string() throws -> String {
            i += 1
            let start = i
            // Fast path: no escapes.
            while i < bytes.count {
                let c = bytes[i]
                if c == UInt8(ascii: "\"") {
                    let s = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
                    i += 1
                    return s
                }
                if c == UInt8(ascii: "\\") { break }
                if c < 0x20 { throw error("control character in a string (write it as an escape)") }
                i += 1
            }
            var out = [UInt8](UnsafeBufferPointer(rebasing: bytes[start..<i]))
            while i < bytes.count {
                let c = bytes[i]
                switch c {
                case UInt8(ascii: "\""):
                    i += 1
                    return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    i += 1
                    guard i < bytes.count else { throw error("unterminated string") }
                    let e = bytes[i]
                    i += 1
                    switch e {
                    case UInt8(ascii: "\""): out.append(0x22)
                    case UInt8(ascii: "\\"): out.append(0x5C)
                    case UInt8(ascii: "/"): out.append(0x2F)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalar = try hex4()
                        if (0xD800..<0xDC00).contains(scalar) {
                            guard i + 2 <= bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                                throw error("unpaired surrogate in a \\u escape")
                            }
                            i += 2
                            let low = try hex4()
                            guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate in a \\u escape") }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00..<0xE000).contains(scalar) {
                            throw error("unpaired surrogate in a \\u escape")
                        }
                        out.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
                    default:
                        throw error("invalid escape")
                    }
                default:
                    if c < 0x20 { throw error("control character in a string (write it as an escape)") }
                    out.append(c)
                    i += 1
                }
            }
            throw error("unterminated string")
        }

        /// A number at `i`: its literal, checked against the grammar.
        mutating func number() throws -> String {
            let start = i
            func digits() -> Int {
                let s = i
                while i < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) { i += 1 }
                return i - s
            }
            if bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard i < bytes.count else { throw error("truncated number") }
            if bytes[i] == UInt8(ascii: "0") {
                i += 1
            } else if digits() == 0 {
                throw error("invalid number")
            }
            if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
                i += 1
                guard digits() > 0 else { throw error("invalid number") }
            }
            if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
                i += 1
                if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
                guard digits() > 0 else { throw error("invalid number") }
            }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
        }
    }
}
