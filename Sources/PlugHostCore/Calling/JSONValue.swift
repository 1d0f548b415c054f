import Foundation

/// A JSON value with booleans told apart from numbers: what ``Value/init(json:as:)``
/// converts from. Built from `JSONSerialization`'s objects, or parsed from text by
/// ``parse(_:)`` (strict RFC 8259), which is several times faster than `JSONSerialization`
/// for the short argument lists of plugin calls.
package enum JSONValue: CustomStringConvertible {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])
    /// Something that is not JSON (a Swift value of another type), named by its type.
    case other(String)

    /// An integral number's value.
    enum Integer: Equatable { case signed(Int64), unsigned(UInt64) }

    private static let booleanClass: NSNumber.Type = type(of: NSNumber(value: true))

    /// Wraps a `JSONSerialization` object or an equivalent Swift value.
    init(_ json: Any) {
        // Numbers first: they are the commonest arguments, and a failed cast of an NSNumber
        // to String or to a collection costs a slow bridging attempt.
        if let n = json as? NSNumber {
            // JSONSerialization's booleans (and bridged Swift Bools) are of the boolean class;
            // 0 and 1 parsed as numbers are not.
            self = type(of: n) == JSONValue.booleanClass ? .bool(n.boolValue) : .number(JSONNumber(n))
            return
        }
        switch json {
        case let s as String: self = .string(s)
        case is NSNull: self = .null
        case let a as [Any]: self = .array(a.map(JSONValue.init))
        case let o as [String: Any]: self = .object(o.mapValues(JSONValue.init))
        default: self = .other(String(describing: type(of: json)))
        }
    }

    /// The value as an integer, when it is an integral number that fits 64 bits.
    var integer: Integer? {
        guard case .number(let n) = self else { return nil }
        return n.integer
    }

    /// The JSON value itself, for messages.
    var text: String {
        switch self {
        case .null: "null"
        case .bool(let b): b ? "true" : "false"
        case .number(let n): n.text
        case .string(let s): s.debugDescription
        case .array: "an array"
        case .object: "an object"
        case .other(let t): "a \(t)"
        }
    }

    /// Kind and value, for messages: `string "12"`, `number 1.5`, `null`.
    package var description: String {
        switch self {
        case .null: "null"
        case .bool(let b): "boolean \(b)"
        case .number(let n): "number \(n.text)"
        case .string(let s): "string \(s.debugDescription)"
        case .array: "an array"
        case .object: "an object"
        case .other(let t): "a value of type \(t)"
        }
    }

    // MARK: - Parsing

    /// Why text is not JSON, with the byte offset.
    struct SyntaxError: Error, CustomStringConvertible {
        let message: String
        let offset: Int
        var description: String { "\(message) at byte \(offset)" }
    }

    /// Parses JSON text (RFC 8259: any value at the top, white space around it, nothing else;
    /// nesting at most 512 deep).
    package static func parse(_ text: String) throws -> JSONValue {
        var text = text
        return try text.withUTF8 { bytes in
            var p = Parser(bytes: bytes)
            p.skipSpace()
            let v = try p.value(depth: 0)
            p.skipSpace()
            guard p.i == bytes.count else { throw p.error("unexpected text after the JSON value") }
            return v
        }
    }

    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var i = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        func error(_ message: String) -> SyntaxError { SyntaxError(message: message, offset: i) }

        mutating func skipSpace() {
            while i < bytes.count {
                switch bytes[i] {
                case 0x20, 0x09, 0x0A, 0x0D: i += 1
                default: return
                }
            }
        }

        mutating func literal(_ word: StaticString, _ v: JSONValue) throws -> JSONValue {
            let n = word.utf8CodeUnitCount
            guard i + n <= bytes.count, memcmp(bytes.baseAddress! + i, word.utf8Start, n) == 0 else {
                throw error("invalid literal")
            }
            i += n
            return v
        }

        mutating func value(depth: Int) throws -> JSONValue {
            guard depth < 512 else { throw error("nesting deeper than 512") }
            guard i < bytes.count else { throw error("unexpected end of text") }
            switch bytes[i] {
            case UInt8(ascii: "n"): return try literal("null", .null)
            case UInt8(ascii: "t"): return try literal("true", .bool(true))
            case UInt8(ascii: "f"): return try literal("false", .bool(false))
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
            case UInt8(ascii: "["):
                i += 1
                var items: [JSONValue] = []
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
                var members: [String: JSONValue] = [:]
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
                    members[key] = try value(depth: depth + 1)
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

        /// A string literal at `i` (which is its opening quote).
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
                if c < 0x20 { throw error("control character in a string") }
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
                    if c < 0x20 { throw error("control character in a string") }
                    out.append(c)
                    i += 1
                }
            }
            throw error("unterminated string")
        }

        mutating func number() throws -> JSONNumber {
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
            var integral = true
            if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
                i += 1
                guard digits() > 0 else { throw error("invalid number") }
                integral = false
            }
            if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
                i += 1
                if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
                guard digits() > 0 else { throw error("invalid number") }
                integral = false
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
            if integral {
                if let v = Int64(text) { return JSONNumber(double: Double(v), integer: .signed(v)) }
                if let u = UInt64(text) { return JSONNumber(double: Double(u), integer: .unsigned(u)) }
            }
            guard let d = Double(text) else { throw error("invalid number") }
            return JSONNumber(d)
        }
    }
}

/// A JSON number, integral or not.
package struct JSONNumber {
    /// Its value as a double.
    let double: Double
    /// Its value as a 64-bit integer, when it is integral and fits.
    let integer: JSONValue.Integer?

    init(double: Double, integer: JSONValue.Integer?) {
        self.double = double
        self.integer = integer
    }

    /// A number known only as a double: integral when the double is.
    init(_ d: Double) {
        double = d
        if let i = Int64(exactly: d) {
            integer = .signed(i)
        } else if let u = UInt64(exactly: d) {
            integer = .unsigned(u)
        } else {
            integer = nil
        }
    }

    init(_ n: NSNumber) {
        switch UInt8(bitPattern: n.objCType.pointee) {
        case UInt8(ascii: "d"), UInt8(ascii: "f"):
            self.init(n.doubleValue)
        case UInt8(ascii: "Q"), UInt8(ascii: "L"), UInt8(ascii: "I"), UInt8(ascii: "S"), UInt8(ascii: "C"):
            let u = n.uint64Value
            self.init(double: n.doubleValue, integer: u <= UInt64(Int64.max) ? .signed(Int64(u)) : .unsigned(u))
        default:
            self.init(double: n.doubleValue, integer: .signed(n.int64Value))
        }
    }

    /// The number as text, for messages.
    var text: String {
        switch integer {
        case .signed(let i): String(i)
        case .unsigned(let u): String(u)
        case nil: Value.format(double)
        }
    }
}
