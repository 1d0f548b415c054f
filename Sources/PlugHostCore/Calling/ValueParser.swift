import Foundation

extension Value {
    /// Parses command-line or pipeline text as a value of the declared type.
    ///
    /// Booleans: true/false/yes/no/1/0. Integers: decimal or 0x hex, range-checked later by the
    /// call path. Floats: decimal, inf, nan. Strings: as given. Buffers: hex digits, or
    /// `@path` to read a file's bytes. Pointers: decimal or 0x hex.
    public static func parse(_ text: String, as type: ValueType) throws -> Value {
        func bad(_ what: String) -> CallError {
            CallError(.argumentType, function: "", "\(text.debugDescription) is not \(what)")
        }
        switch type {
        case .void:
            throw CallError(.argumentType, function: "", "void takes no value")
        case .bool:
            switch text.lowercased() {
            case "true", "yes", "1", "on": return .bool(true)
            case "false", "no", "0", "off": return .bool(false)
            default: throw bad("a boolean (true or false)")
            }
        case .int8, .int16, .int32, .int64:
            if let v = parseSigned(text) { return .int(v) }
            if let u = parseUnsigned(text) { return .uint(u) }
            throw bad("an integer")
        case .uint8, .uint16, .uint32, .uint64:
            if let u = parseUnsigned(text) { return .uint(u) }
            if let v = parseSigned(text) { return .int(v) }
            throw bad("an unsigned integer")
        case .float, .double:
            switch text.lowercased() {
            case "inf", "+inf", "infinity": return .double(.infinity)
            case "-inf", "-infinity": return .double(-.infinity)
            case "nan": return .double(.nan)
            default:
                guard let d = Double(text) else { throw bad("a number") }
                return .double(d)
            }
        case .string:
            return .string(text)
        case .buffer:
            if text.hasPrefix("@") {
                let path = String(text.dropFirst())
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw CallError(.argumentType, function: "", "cannot read \(path) for a buffer argument")
                }
                return .buffer([UInt8](data))
            }
            let hex = text.hasPrefix("0x") ? String(text.dropFirst(2)) : text
            guard hex.count % 2 == 0 else { throw bad("hex bytes (an even number of hex digits)") }
            var bytes: [UInt8] = []
            var i = hex.startIndex
            while i < hex.endIndex {
                let j = hex.index(i, offsetBy: 2)
                guard let b = UInt8(hex[i..<j], radix: 16) else { throw bad("hex bytes") }
                bytes.append(b)
                i = j
            }
            return .buffer(bytes)
        case .pointer:
            guard let u = parseUnsigned(text) else { throw bad("a pointer value") }
            return .pointer(UInt(u))
        }
    }

    private static func parseSigned(_ t: String) -> Int64? {
        if t.hasPrefix("-0x") { return Int64(t.dropFirst(3), radix: 16).map { -$0 } }
        if t.hasPrefix("0x") { return Int64(t.dropFirst(2), radix: 16) }
        return Int64(t)
    }

    private static func parseUnsigned(_ t: String) -> UInt64? {
        if t.hasPrefix("0x") { return UInt64(t.dropFirst(2), radix: 16) }
        return UInt64(t)
    }
}
