import CPlugHostABI

/// Reads a parameter's `ph_param_info` (ABI minor 1) into a ``Parameter``, checking it.
enum ParameterInfo {
    static func read(
        _ pointer: UnsafePointer<ph_param_info>?, name: String, type: ValueType, label: String, fail: (String) -> LoadError
    ) throws -> Parameter {
        guard let pointer else { return Parameter(name: name, type: type) }
        let what = "\(label): parameter \(name)"
        let minSize = MemoryLayout<ph_param_info>.size
        // struct_size alone first: reading the whole struct before knowing its size could read past its end.
        let structSize = UnsafeRawPointer(pointer).load(as: UInt32.self)
        guard structSize >= minSize else {
            throw fail("\(what): ph_param_info struct_size is \(structSize), smaller than \(minSize)")
        }
        let info = pointer.pointee
        let unknown = info.flags & ~UInt32(PH_PARAM_KNOWN_FLAGS)
        guard unknown == 0 else { throw fail("\(what): unknown parameter flag bits 0x\(String(unknown, radix: 16))") }
        var description = ""
        if let d = info.description {
            guard let s = String(validatingCString: d) else { throw fail("\(what): description is not valid UTF-8") }
            description = s
        }
        let numeric = type.isNumeric
        var minimum: Double?
        var maximum: Double?
        if info.flags & UInt32(PH_PARAM_HAS_MINIMUM) != 0 {
            guard numeric, info.minimum.isFinite else { throw fail("\(what): a minimum needs a numeric parameter and a finite value") }
            minimum = info.minimum
        }
        if info.flags & UInt32(PH_PARAM_HAS_MAXIMUM) != 0 {
            guard numeric, info.maximum.isFinite else { throw fail("\(what): a maximum needs a numeric parameter and a finite value") }
            maximum = info.maximum
        }
        if let lo = minimum, let hi = maximum, lo > hi { throw fail("\(what): minimum \(lo) is above maximum \(hi)") }
        var allowed: [String]?
        if info.allowed_count > 0 {
            guard type == .string else { throw fail("\(what): allowed values need a string parameter") }
            guard info.allowed_count <= 1024, let list = info.allowed else {
                throw fail("\(what): allowed is NULL or has over 1024 values")
            }
            allowed = try (0..<Int(info.allowed_count)).map { i in
                guard let p = list[i], let s = String(validatingCString: p) else {
                    throw fail("\(what): allowed[\(i)] is NULL or not UTF-8")
                }
                return s
            }
        }
        var defaultValue: Value?
        let optional = info.flags & UInt32(PH_PARAM_OPTIONAL) != 0
        if let d = info.default_json {
            guard optional else { throw fail("\(what): default_json is set but PH_PARAM_OPTIONAL is not") }
            guard let text = String(validatingCString: d), let json = try? JSONReader.parse(text) else {
                throw fail("\(what): default_json is not JSON")
            }
            do {
                defaultValue = try Value(json: json, as: type)
            } catch let e as CallError {
                throw fail("\(what): default_json: \(e.message)")
            }
        } else if optional {
            throw fail("\(what): PH_PARAM_OPTIONAL needs a default_json")
        }
        let p = Parameter(
            name: name, type: type, description: description, minimum: minimum, maximum: maximum, allowed: allowed,
            defaultValue: defaultValue)
        if let v = defaultValue {
            do { try p.check(v, function: "") } catch let e as CallError { throw fail("\(what): default_json: \(e.message)") }
        }
        return p
    }
}

extension ValueType {
    /// Integers and floating-point types.
    package var isNumeric: Bool {
        switch self {
        case .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64, .float, .double: true
        default: false
        }
    }
}
