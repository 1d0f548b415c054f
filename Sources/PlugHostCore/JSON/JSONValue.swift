import Foundation

/// A JSON value, read without loss by ``JSONReader`` (RFC 8259): numbers keep their literal
/// text (so `1.0` is not `1`, and integers beyond 64 bits are not rounded), booleans are not
/// numbers, and objects keep their members in the order written, a repeated key included (the
/// schemas refuse one with ``JSONValue/uniqueMembers(_:at:)``; ``canonical`` keeps its last
/// value).
///
/// It is also what a `JSONSerialization` object or an equivalent Swift value is bridged to
/// (``init(_:)``), for ``Value/init(json:as:)``.
package enum JSONValue: Sendable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    /// An array of integers kept packed (a plugin's buffer as bytes): written as an array, without
    /// a value per element. The reader never makes one.
    case integers([Int])
    /// Members in the order written.
    case object([Member])
    /// Something that is not JSON (a bridged Swift value of another type), named by its type.
    /// The reader never makes one.
    case other(String)

    /// One member of an object.
    package struct Member: Sendable {
        package var key: String
        package var value: JSONValue
        package init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    /// An integral number's value.
    package enum Integer: Equatable, Sendable { case signed(Int64), unsigned(UInt64) }

    /// Parses JSON text (see ``JSONReader``).
    package static func parse(_ text: some StringProtocol) throws -> JSONValue {
        try JSONReader.parse(text)
    }

    /// The value as an integer, when it is an integral number that fits 64 bits.
    package var integer: Integer? {
        guard case .number(let n) = self else { return nil }
        return n.integer
    }

    /// The members of an object by key; a key given twice is an error naming it and `path`
    /// (`""` for the top level, else e.g. `"metadata"`).
    package static func uniqueMembers(_ members: [Member], at path: String = "") throws -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        out.reserveCapacity(members.count)
        for m in members where out.updateValue(m.value, forKey: m.key) != nil {
            throw JSONSchemaError("the key \(m.key.debugDescription) appears twice\(path.isEmpty ? "" : " in \(path)")")
        }
        return out
    }

    // MARK: - Bridging Swift values

    private static let booleanClass: NSNumber.Type = type(of: NSNumber(value: true))

    /// Wraps a `JSONSerialization` object or an equivalent Swift value (a `JSONValue` in it
    /// stays as it is).
    package init(_ json: Any) {
        // Numbers first: they are the commonest arguments, and a failed cast of an NSNumber
        // to String or to a collection costs a slow bridging attempt. A packed integer array
        // (a buffer) goes first: casting one to NSNumber tries to bridge every element.
        if type(of: json) == [Int].self, let ints = json as? [Int] {
            self = .integers(ints)
            return
        }
        if let n = json as? NSNumber {
            // JSONSerialization's booleans (and bridged Swift Bools) are of the boolean class;
            // 0 and 1 parsed as numbers are not.
            self = type(of: n) == JSONValue.booleanClass ? .bool(n.boolValue) : .number(JSONNumber(n))
            return
        }
        switch json {
        case let s as String: self = .string(s)
        case is NSNull: self = .null
        case let v as JSONValue: self = v
        case let a as [Any]: self = .array(a.map(JSONValue.init))
        case let o as [String: Any]: self = .object(o.map { Member(key: $0.key, value: JSONValue($0.value)) })
        default: self = .other(String(describing: type(of: json)))
        }
    }

    // MARK: - Messages

    /// The JSON value itself, for messages.
    package var text: String {
        switch self {
        case .null: "null"
        case .bool(let b): b ? "true" : "false"
        case .number(let n): n.text
        case .string(let s): s.debugDescription
        case .array, .integers: "an array"
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
        case .array, .integers: "an array"
        case .object: "an object"
        case .other(let t): "a value of type \(t)"
        }
    }

    /// What the value is, as written, for schema messages: `true`, `the number 1.9`,
    /// `the string "5"`, `an array`.
    package var kind: String {
        switch self {
        case .null: "null"
        case .bool(let b): b ? "true" : "false"
        case .number(let n): "the number \(n.literal)"
        case .string(let s): "the string \(s.count > 40 ? String(s.prefix(40)).debugDescription + "…" : s.debugDescription)"
        case .array, .integers: "an array"
        case .object: "an object"
        case .other(let t): "a value of type \(t)"
        }
    }
}

/// A JSON number: its literal text, and its value as an integer or a double on demand.
package struct JSONNumber: Sendable {
    /// The literal as written (RFC 8259 number grammar); for a number bridged from Swift, its
    /// Swift text (`3`, `1.5`, `1e+20`).
    package let literal: String

    package init(literal: String) { self.literal = literal }

    package init(_ n: NSNumber) {
        switch UInt8(bitPattern: n.objCType.pointee) {
        case UInt8(ascii: "d"), UInt8(ascii: "f"): literal = "\(n.doubleValue)"
        case UInt8(ascii: "Q"), UInt8(ascii: "L"), UInt8(ascii: "I"), UInt8(ascii: "S"), UInt8(ascii: "C"): literal = String(n.uint64Value)
        default: literal = String(n.int64Value)
        }
    }

    /// Whether the literal has neither a fraction nor an exponent (`5`, `-0`; not `5.0`, `5e0`).
    package var isIntegerLiteral: Bool {
        !literal.utf8.contains { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }
    }

    /// Its value as a double (an integer literal by way of its integer, so `-0` is 0).
    package var double: Double {
        if isIntegerLiteral {
            if let v = Int64(literal) { return Double(v) }
            if let u = UInt64(literal) { return Double(u) }
        }
        return Double(literal) ?? .nan
    }

    /// Its value as a 64-bit integer, when it is integral (`3`, `3.0`, `3e0`) and fits.
    package var integer: JSONValue.Integer? {
        if isIntegerLiteral {
            if let v = Int64(literal) { return .signed(v) }
            if let u = UInt64(literal) { return .unsigned(u) }
        }
        let d = double
        if let i = Int64(exactly: d) { return .signed(i) }
        if let u = UInt64(exactly: d) { return .unsigned(u) }
        return nil
    }

    /// The number as text, for messages.
    package var text: String {
        switch integer {
        case .signed(let i): String(i)
        case .unsigned(let u): String(u)
        case nil: Value.format(double)
        }
    }
}

/// JSON of the wrong shape for a schema: what is wrong, naming the field (`"ttl_ms" must be …`,
/// `concepts[1] is the number 2`).
package struct JSONSchemaError: Error, Sendable, CustomStringConvertible {
    package let message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}
