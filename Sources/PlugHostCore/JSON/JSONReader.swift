import Foundation

/// The one JSON reader: strict RFC 8259 over UTF-8 bytes.
///
/// One value at the top, white space around it and nothing else; no trailing commas, no
/// comments, no leading zeros, no lone surrogates in `\u` escapes, no raw control characters
/// in strings; nesting at most ``maxDepth`` deep. Numbers keep their literal text and objects
/// their members in order (see ``JSONValue``); a repeated key is left to the schema to refuse
/// (``JSONValue/uniqueMembers(_:at:)``). Strings without escapes are sliced straight out of
/// the bytes (the fast path of workload replay and of the SQLite JSON columns).
package enum JSONReader {
    /// Why text is not JSON: what, and the 1-based byte position in the text.
    package struct SyntaxError: Error, Sendable, CustomStringConvertible {
        package let message: String
        package let position: Int
        package var description: String { "\(message) at byte \(position)" }
    }

    /// Nesting deeper than this is refused (the parser recurses).
    package static let maxDepth = 512

    /// Parses `text`: one JSON value, white space around it, nothing else.
    package static func parse(_ text: some StringProtocol) throws -> JSONValue {
        var copy = String(text)
        return try copy.withUTF8 { try parse(bytes: $0) }
    }

    /// Parses UTF-8 `bytes`: one JSON value, white space around it, nothing else.
    package static func parse(bytes: UnsafeBufferPointer<UInt8>) throws -> JSONValue {
        var p = Parser(bytes: bytes)
        p.skipSpace()
        let v = try p.value(depth: 0)
        try p.end()
        return v
    }

    /// Parses `text` that must be one JSON object without a key given twice: its members, in
    /// order. Errors begin with `what` (`memory_json is not valid JSON (…)`,
    /// `configuration must be a JSON object, not an array`, `query_json: the key "a" appears
    /// twice`).
    package static func object(_ text: String, what: String) throws(JSONSchemaError) -> [JSONValue.Member] {
        let v: JSONValue
        do {
            v = try parse(text)
        } catch {
            throw JSONSchemaError("\(what) is not valid JSON (\(error))")
        }
        guard case .object(let members) = v else { throw JSONSchemaError("\(what) must be a JSON object, not \(v.kind)") }
        do {
            _ = try JSONValue.uniqueMembers(members)
        } catch {
            throw JSONSchemaError("\(what): \(error)")
        }
        return members
    }

    /// Every string of a JSON array whose items are strings or such arrays (at most 4 deep),
    /// flattened in order: `[["a","b"],["c","d"]]` gives a, b, c, d. The SQLite engine's
    /// `concepts` and `depends_on` columns are read with it, without building a tree.
    package static func flattenedStrings(bytes: UnsafeBufferPointer<UInt8>) throws -> [String] {
        var p = Parser(bytes: bytes)
        var out: [String] = []
        p.skipSpace()
        try p.strings(into: &out, depth: 0)
        try p.end()
        return out
    }

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

        mutating func end() throws {
            skipSpace()
            guard i == bytes.count else { throw error("unexpected text after the JSON value") }
        }

        mutating func literal(_ word: StaticString, _ v: JSONValue) throws -> JSONValue {
            let n = word.utf8CodeUnitCount
            guard i + n <= bytes.count, memcmp(bytes.baseAddress! + i, word.utf8Start, n) == 0 else {
                throw error("invalid literal (expected \(word))")
            }
            i += n
            return v
        }

        /// The items of an array or the members of an object at `i` (its opening bracket):
        /// `item` reads one (after the white space before it), the separators are checked here.
        mutating func items(close: UInt8, _ what: String, _ item: (inout Parser) throws -> Void) throws {
            i += 1
            skipSpace()
            if i < bytes.count, bytes[i] == close {
                i += 1
                return
            }
            while true {
                skipSpace()
                try item(&self)
                skipSpace()
                guard i < bytes.count else { throw error("unterminated \(what)") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == close { i += 1; return }
                throw error("expected , or \(Character(Unicode.Scalar(close))) in an \(what)")
            }
        }

        mutating func value(depth: Int) throws -> JSONValue {
            guard depth < JSONReader.maxDepth else { throw error("nesting deeper than \(JSONReader.maxDepth)") }
            guard i < bytes.count else { throw error("unexpected end of text") }
            switch bytes[i] {
            case UInt8(ascii: "n"): return try literal("null", .null)
            case UInt8(ascii: "t"): return try literal("true", .bool(true))
            case UInt8(ascii: "f"): return try literal("false", .bool(false))
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(JSONNumber(literal: try number()))
            case UInt8(ascii: "["):
                var list: [JSONValue] = []
                try items(close: UInt8(ascii: "]"), "array") { list.append(try $0.value(depth: depth + 1)) }
                return .array(list)
            case UInt8(ascii: "{"):
                var members: [JSONValue.Member] = []
                try items(close: UInt8(ascii: "}"), "object") { p in
                    guard p.i < p.bytes.count, p.bytes[p.i] == UInt8(ascii: "\"") else {
                        throw p.error("expected a string key in an object")
                    }
                    let key = try p.string()
                    p.skipSpace()
                    guard p.i < p.bytes.count, p.bytes[p.i] == UInt8(ascii: ":") else { throw p.error("expected : after an object key") }
                    p.i += 1
                    p.skipSpace()
                    members.append(JSONValue.Member(key: key, value: try p.value(depth: depth + 1)))
                }
                return .object(members)
            default:
                throw error("unexpected character")
            }
        }

        /// An array of strings or of such arrays at `i`, its strings appended to `out`.
        mutating func strings(into out: inout [String], depth: Int) throws {
            guard depth < 4 else { throw error("nesting deeper than 4 in an array of strings") }
            guard i < bytes.count, bytes[i] == UInt8(ascii: "[") else { throw error("expected an array of strings") }
            try items(close: UInt8(ascii: "]"), "array") { p in
                guard p.i < p.bytes.count else { throw p.error("unterminated array") }
                switch p.bytes[p.i] {
                case UInt8(ascii: "["): try p.strings(into: &out, depth: depth + 1)
                case UInt8(ascii: "\""): out.append(try p.string())
                default: throw p.error("expected a string in an array of strings")
                }
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
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
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
