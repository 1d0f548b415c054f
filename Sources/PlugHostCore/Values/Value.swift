import CPlugHostRuntime
import Foundation

/// A value passed to or returned from a plugin function.
///
/// Integers travel as `int` or `uint` whatever their declared width; the call path checks
/// that they fit the declared C type before calling.
public enum Value: Sendable, Hashable {
    case void
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case string(String)
    case buffer([UInt8])
    case pointer(UInt)

    /// A human-readable rendering, as `plughost call` prints it.
    public var text: String {
        switch self {
        case .void: return ""
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .uint(let u): return String(u)
        case .double(let d): return Value.format(d)
        case .string(let s): return s
        case .buffer(let b): return Value.hex(b)
        case .pointer(let p): return "0x" + String(p, radix: 16)
        }
    }

    /// The value as a JSON-compatible object (buffers as arrays of bytes, pointers as numbers).
    public var jsonObject: Any {
        switch self {
        case .void: return NSNull()
        case .bool(let b): return b
        case .int(let i): return i
        case .uint(let u): return u
        case .double(let d): return d.isFinite ? d as Any : Value.format(d) as Any
        case .string(let s): return s
        case .buffer(let b): return b.map { Int($0) }
        case .pointer(let p): return p
        }
    }

    /// Lower-case hex, two digits a byte.
    static func hex(_ bytes: [UInt8]) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            bytes.withUnsafeBufferPointer { ph_rt_hex($0.baseAddress, $0.count, out.baseAddress) }
            return bytes.count * 2
        }
    }

    static func format(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        if d == d.rounded(), abs(d) < 1e15 { return String(format: "%.1f", d) }
        return "\(d)"
    }
}
