import Foundation

extension Value {
    /// Converts a JSON value, as `JSONSerialization` returns it (or the equivalent Swift
    /// value: `Bool`, an integer type, `Double`, `String`, `[Any]`, `NSNull`), to a value of
    /// the declared type.
    ///
    /// | declared type | accepted JSON |
    /// |---|---|
    /// | `bool` | `true`, `false` |
    /// | integer types | an integral number within the type's range (`3`, `3.0`, `-7`) |
    /// | `float`, `double` | a number, or `"nan"`, `"inf"`, `"-inf"` (what results print for them) |
    /// | `string` | a string |
    /// | `buffer` | an array of integers 0…255 (`[104, 105]`) |
    /// | `pointer` | a non-negative integer, or `null` for NULL |
    ///
    /// Booleans are never taken for numbers, nor numbers for booleans, and nothing is taken
    /// for a string but a string.
    ///
    /// - Throws: ``CallError`` with code ``CallError/Code/argumentType`` when the JSON value has
    ///   the wrong kind (`expected int32, got string "12"`), or ``CallError/Code/argumentRange``
    ///   when it is out of the type's range (`300 is out of range for int8`). The error's
    ///   `function` is empty: callers that know the function put its name in.
    public init(json: Any, as type: ValueType) throws {
        try self.init(json: JSONValue(json), as: type)
    }

    /// Converts a parsed JSON value (see ``init(json:as:)`` for the rules).
    package init(json: JSONValue, as type: ValueType) throws {
        func wrongKind() -> CallError {
            CallError(.argumentType, function: "", "expected \(type.name), got \(json.description)")
        }
        func notInteger() -> CallError {
            if case .number = json {
                return CallError(.argumentType, function: "", "expected \(type.name), got \(json.text), which is not an integer")
            }
            return wrongKind()
        }
        func outOfRange() -> CallError {
            CallError(.argumentRange, function: "", "\(json.text) is out of range for \(type.name)")
        }
        switch type {
        case .void:
            throw CallError(.argumentType, function: "", "void is not a parameter type; it takes no value")
        case .bool:
            guard case .bool(let b) = json else { throw wrongKind() }
            self = .bool(b)
        case .int8, .int16, .int32, .int64:
            switch json.integer {
            case .some(.signed(let v)):
                guard type.signedRange!.contains(v) else { throw outOfRange() }
                self = .int(v)
            case .some(.unsigned): throw outOfRange()
            case .none: throw notInteger()
            }
        case .uint8, .uint16, .uint32, .uint64:
            switch json.integer {
            case .some(.signed(let v)):
                guard v >= 0, UInt64(v) <= type.unsignedMax! else { throw outOfRange() }
                self = .uint(UInt64(v))
            case .some(.unsigned(let u)):
                guard u <= type.unsignedMax! else { throw outOfRange() }
                self = .uint(u)
            case .none: throw notInteger()
            }
        case .float, .double:
            switch json {
            case .number(let n):
                let d = n.double
                if type == .float, d.isFinite, abs(d) > Double(Float.greatestFiniteMagnitude) { throw outOfRange() }
                self = .double(d)
            case .string(let s):
                switch s.lowercased() {
                case "nan": self = .double(.nan)
                case "inf", "+inf", "infinity": self = .double(.infinity)
                case "-inf", "-infinity": self = .double(-.infinity)
                default:
                    throw CallError(
                        .argumentType, function: "",
                        "expected \(type.name), got string \(s.debugDescription) (only \"nan\", \"inf\" and \"-inf\" stand for numbers)")
                }
            default: throw wrongKind()
            }
        case .string:
            guard case .string(let s) = json else { throw wrongKind() }
            self = .string(s)
        case .buffer:
            guard case .array(let items) = json else {
                throw CallError(.argumentType, function: "", "expected buffer (an array of bytes 0-255), got \(json.description)")
            }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(items.count)
            for (i, item) in items.enumerated() {
                guard case .signed(let v)? = item.integer, (0...255).contains(v) else {
                    throw CallError(
                        .argumentType, function: "", "buffer element \(i) is \(item.description), not a byte (an integer 0-255)")
                }
                bytes.append(UInt8(v))
            }
            self = .buffer(bytes)
        case .pointer:
            if case .null = json {
                self = .pointer(0)
                return
            }
            switch json.integer {
            case .some(.signed(let v)):
                guard v >= 0 else { throw outOfRange() }
                self = .pointer(UInt(v))
            case .some(.unsigned(let u)):
                guard let p = UInt(exactly: u) else { throw outOfRange() }
                self = .pointer(p)
            case .none: throw wrongKind()
            }
        }
    }

    /// The value as JSON text: `null` for void, `true`/`false`, numbers, a string, an array of
    /// bytes for a buffer, a number for a pointer. Non-finite doubles become the strings
    /// `"nan"`, `"inf"` and `"-inf"`, which ``init(json:as:)`` reads back. Strings are
    /// not ASCII-escaped and `/` is not escaped.
    public var jsonText: String {
        var out = JSONWriter()
        out.value(self)
        return out.text
    }
}

extension JSONWriter {
    /// Writes `value` as ``Value/jsonText`` describes.
    package mutating func value(_ value: Value) {
        switch value {
        case .void: null()
        case .bool(let b): bool(b)
        case .int(let i): int(i)
        case .uint(let u): int(u)
        case .pointer(let p): int(p)
        case .double(let d):
            // The shortest text that reads back as the same double; the strings for the others.
            if d.isFinite { double(d) } else { string(Value.format(d)) }
        case .string(let s): string(s)
        case .buffer(let b):
            beginArray()
            for byte in b { int(byte) }
            endArray()
        }
    }
}
