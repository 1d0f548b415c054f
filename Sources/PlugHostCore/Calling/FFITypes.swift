import CFFI

/// libffi type descriptions for the ABI's value types.
enum FFITypes {
    /// `ph_buffer` {const uint8_t *data; size_t len;}, passed by value: a real libffi struct type.
    nonisolated(unsafe) static let buffer: UnsafeMutablePointer<ffi_type> = {
        let elements = UnsafeMutablePointer<UnsafeMutablePointer<ffi_type>?>.allocate(capacity: 3)
        elements[0] = ph_ffi_type_pointer()
        elements[1] = MemoryLayout<Int>.size == 8 ? ph_ffi_type_uint64() : ph_ffi_type_uint32()
        elements[2] = nil
        let type = UnsafeMutablePointer<ffi_type>.allocate(capacity: 1)
        type.initialize(to: ffi_type())
        type.pointee.size = 0
        type.pointee.alignment = 0
        type.pointee.type = ph_ffi_type_struct_code()
        type.pointee.elements = elements
        return type
    }()

    /// The libffi type that passes `type`.
    static func type(for type: ValueType) -> UnsafeMutablePointer<ffi_type> {
        switch type {
        case .void: ph_ffi_type_void()
        case .bool, .uint8: ph_ffi_type_uint8()
        case .int8: ph_ffi_type_sint8()
        case .int16: ph_ffi_type_sint16()
        case .int32: ph_ffi_type_sint32()
        case .int64: ph_ffi_type_sint64()
        case .uint16: ph_ffi_type_uint16()
        case .uint32: ph_ffi_type_uint32()
        case .uint64: ph_ffi_type_uint64()
        case .float: ph_ffi_type_float()
        case .double: ph_ffi_type_double()
        case .string, .pointer: ph_ffi_type_pointer()
        case .buffer: buffer
        }
    }
}
