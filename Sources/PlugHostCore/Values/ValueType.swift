import CPlugHostABI

/// A parameter or return type of a plugin function, as declared with the ABI's `ph_type` codes.
public enum ValueType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case void = 0, bool, int8, int16, int32, int64, uint8, uint16, uint32, uint64
    case float, double, string, buffer, pointer

    /// The C spelling used by `plughost inspect`.
    public var description: String {
        switch self {
        case .void: "void"
        case .bool: "bool"
        case .int8: "int8_t"
        case .int16: "int16_t"
        case .int32: "int32_t"
        case .int64: "int64_t"
        case .uint8: "uint8_t"
        case .uint16: "uint16_t"
        case .uint32: "uint32_t"
        case .uint64: "uint64_t"
        case .float: "float"
        case .double: "double"
        case .string: "const char *"
        case .buffer: "ph_buffer"
        case .pointer: "void *"
        }
    }

    /// The short name used in JSON output and pipeline errors.
    public var name: String {
        switch self {
        case .string: "string"
        case .buffer: "buffer"
        case .pointer: "pointer"
        default: description.replacingOccurrences(of: "_t", with: "")
        }
    }

    /// True for the signed and unsigned integer types.
    public var isInteger: Bool {
        switch self {
        case .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64: true
        default: false
        }
    }

    /// Inclusive range of a signed integer type.
    package var signedRange: ClosedRange<Int64>? {
        switch self {
        case .int8: Int64(Int8.min)...Int64(Int8.max)
        case .int16: Int64(Int16.min)...Int64(Int16.max)
        case .int32: Int64(Int32.min)...Int64(Int32.max)
        case .int64: Int64.min...Int64.max
        default: nil
        }
    }

    /// Upper bound of an unsigned integer type.
    package var unsignedMax: UInt64? {
        switch self {
        case .uint8: UInt64(UInt8.max)
        case .uint16: UInt64(UInt16.max)
        case .uint32: UInt64(UInt32.max)
        case .uint64: UInt64.max
        default: nil
        }
    }
}
