import CPlugHostABI
import Foundation

/// Converts `Value`s to the C representation of a declared type, with range checks, and back.
package enum ArgumentMarshaller {
    /// Checks that `value` converts to `type` (as ``store`` would) without keeping anything.
    package static func check(_ value: Value, as type: ValueType, describe: () -> String) throws {
        var owned: [UnsafeMutableRawPointer]? = nil
        defer { owned?.forEach { Foundation.free($0) } }
        switch (value, type) {
        case (.string, .string), (.buffer, .buffer): return  // stored as they are
        default:
            try withUnsafeTemporaryAllocation(of: ArgSlot.self, capacity: 1) { slot in
                try store(value, as: type, into: UnsafeMutableRawPointer(slot.baseAddress!), owned: &owned, describe: describe)
            }
        }
    }

    /// Stores `value` as `type` into `slot`. C copies of strings and buffers are appended to
    /// `owned`, which the caller frees after the call.
    @inline(__always)
    package static func store(
        _ value: Value, as type: ValueType, into slot: UnsafeMutableRawPointer,
        owned: inout [UnsafeMutableRawPointer]?, describe: () -> String
    ) throws {
        switch type {
        case .bool:
            guard case .bool(let b) = value else { throw mismatch(value, type, describe) }
            slot.storeBytes(of: b ? 1 : 0, as: UInt8.self)
        case .int8, .int16, .int32, .int64:
            let v: Int64
            switch value {
            case .int(let i): v = i
            case .uint(let u):
                guard u <= UInt64(Int64.max) else { throw outOfRange(value, type, describe) }
                v = Int64(u)
            default: throw mismatch(value, type, describe)
            }
            guard type.signedRange!.contains(v) else { throw outOfRange(value, type, describe) }
            switch type {
            case .int8: slot.storeBytes(of: Int8(v), as: Int8.self)
            case .int16: slot.storeBytes(of: Int16(v), as: Int16.self)
            case .int32: slot.storeBytes(of: Int32(v), as: Int32.self)
            default: slot.storeBytes(of: v, as: Int64.self)
            }
        case .uint8, .uint16, .uint32, .uint64:
            let v: UInt64
            switch value {
            case .uint(let u): v = u
            case .int(let i):
                guard i >= 0 else { throw outOfRange(value, type, describe) }
                v = UInt64(i)
            default: throw mismatch(value, type, describe)
            }
            guard v <= type.unsignedMax! else { throw outOfRange(value, type, describe) }
            switch type {
            case .uint8: slot.storeBytes(of: UInt8(v), as: UInt8.self)
            case .uint16: slot.storeBytes(of: UInt16(v), as: UInt16.self)
            case .uint32: slot.storeBytes(of: UInt32(v), as: UInt32.self)
            default: slot.storeBytes(of: v, as: UInt64.self)
            }
        case .float, .double:
            let d: Double
            switch value {
            case .double(let x): d = x
            case .int(let i): d = Double(i)
            case .uint(let u): d = Double(u)
            default: throw mismatch(value, type, describe)
            }
            if type == .float {
                if d.isFinite && abs(d) > Double(Float.greatestFiniteMagnitude) {
                    throw outOfRange(value, type, describe)
                }
                slot.storeBytes(of: Float(d), as: Float.self)
            } else {
                slot.storeBytes(of: d, as: Double.self)
            }
        case .string:
            guard case .string(let s) = value else { throw mismatch(value, type, describe) }
            let count = s.utf8.count
            let copy = malloc(count + 1)!
            let hasNul =
                s.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
                    if let base = bytes.baseAddress { copy.copyMemory(from: base, byteCount: count) }
                    return memchr(copy, 0, count) != nil
                }
                ?? {
                    var i = 0
                    var nul = false
                    for b in s.utf8 {
                        copy.storeBytes(of: b, toByteOffset: i, as: UInt8.self)
                        if b == 0 { nul = true }
                        i += 1
                    }
                    return nul
                }()
            copy.storeBytes(of: 0, toByteOffset: count, as: UInt8.self)
            if owned == nil { owned = [] }
            owned!.append(copy)
            if hasNul {
                throw CallError(
                    .argumentRange, function: "", "\(describe()): the string contains a NUL character, which a C string cannot carry")
            }
            slot.storeBytes(of: UnsafeRawPointer(copy), as: UnsafeRawPointer.self)
        case .buffer:
            let bytes: [UInt8]
            switch value {
            case .buffer(let b): bytes = b
            case .string(let s): bytes = Array(s.utf8)
            default: throw mismatch(value, type, describe)
            }
            let copy = malloc(max(bytes.count, 1))!
            bytes.withUnsafeBytes { if let base = $0.baseAddress { copy.copyMemory(from: base, byteCount: $0.count) } }
            if owned == nil { owned = [] }
            owned!.append(copy)
            slot.storeBytes(of: ph_buffer(data: copy.assumingMemoryBound(to: UInt8.self), len: bytes.count), as: ph_buffer.self)
        case .pointer:
            let p: UInt
            switch value {
            case .pointer(let x): p = x
            case .uint(let u): p = UInt(u)
            case .int(let i) where i >= 0: p = UInt(i)
            default: throw mismatch(value, type, describe)
            }
            slot.storeBytes(of: p, as: UInt.self)
        case .void:
            throw CallError(.argumentType, function: "", "\(describe()): void is not a parameter type")
        }
    }

    private static func mismatch(_ value: Value, _ type: ValueType, _ describe: () -> String) -> CallError {
        CallError(.argumentType, function: "", "\(describe()): expected \(type.name), got \(value.kindName) \(value.text.debugDescription)")
    }

    private static func outOfRange(_ value: Value, _ type: ValueType, _ describe: () -> String) -> CallError {
        CallError(.argumentRange, function: "", "\(describe()): \(value.text) is out of range for \(type.name)")
    }
}

extension Value {
    /// The name of the value's case, for error messages.
    public var kindName: String {
        switch self {
        case .void: "void"
        case .bool: "bool"
        case .int: "integer"
        case .uint: "unsigned integer"
        case .double: "number"
        case .string: "string"
        case .buffer: "buffer"
        case .pointer: "pointer"
        }
    }
}
