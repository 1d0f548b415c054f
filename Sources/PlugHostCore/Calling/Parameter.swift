/// A declared parameter of a plugin function.
public struct Parameter: Sendable, Hashable {
    /// Its name, by which pipelines pass arguments.
    public let name: String
    /// Its declared type.
    public let type: ValueType
    /// What it means (ABI minor 1), or empty.
    public let description: String
    /// The smallest value it takes (inclusive; numeric parameters).
    public let minimum: Double?
    /// The largest value it takes (inclusive; numeric parameters).
    public let maximum: Double?
    /// The only strings it takes, or nil for any.
    public let allowed: [String]?
    /// The value passed when a caller omits it; nil when it is required.
    public let defaultValue: Value?

    package init(
        name: String, type: ValueType, description: String = "", minimum: Double? = nil, maximum: Double? = nil,
        allowed: [String]? = nil, defaultValue: Value? = nil
    ) {
        self.name = name
        self.type = type
        self.description = description
        self.minimum = minimum
        self.maximum = maximum
        self.allowed = allowed
        self.defaultValue = defaultValue
    }

    /// Whether callers may omit it.
    public var isOptional: Bool { defaultValue != nil }

    /// Whether it restricts values beyond its type.
    public var hasConstraints: Bool { minimum != nil || maximum != nil || allowed != nil }

    /// Checks `value` (already of the declared type) against the declared range and allowed set.
    /// - Throws: ``CallError`` ``CallError/Code/argumentRange`` naming the parameter and the bounds.
    public func check(_ value: Value, function: String) throws {
        if let lo = minimum, let below = Self.isBelow(value, lo), below {
            throw CallError(
                .argumentRange, function: function, "argument \(name) is \(value.text), below its minimum \(Self.boundText(lo))")
        }
        if let hi = maximum, let above = Self.isAbove(value, hi), above {
            throw CallError(
                .argumentRange, function: function, "argument \(name) is \(value.text), above its maximum \(Self.boundText(hi))")
        }
        if let allowed, case .string(let s) = value, !allowed.contains(s) {
            throw CallError(
                .argumentRange, function: function,
                "argument \(name) is \(s.debugDescription), not one of \(allowed.map(\.debugDescription).joined(separator: ", "))")
        }
    }
}

extension Parameter {
    /// A bound for people: `50`, not `50.0`; `0.5` as it is.
    package static func boundText(_ d: Double) -> String {
        d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : Value.format(d)
    }

    /// What is wrong with this parameter's metadata, or nil: the loader's checks of
    /// `ph_param_info`, for metadata that reaches the host another way (a worker's descriptor).
    package var metadataProblem: String? {
        if minimum != nil || maximum != nil {
            guard type.isNumeric else { return "a minimum or maximum on a \(type.name) parameter" }
            guard minimum?.isFinite ?? true, maximum?.isFinite ?? true else { return "a bound that is not finite" }
            if let lo = minimum, let hi = maximum, lo > hi { return "minimum \(lo) above maximum \(hi)" }
        }
        if allowed != nil, type != .string { return "allowed values on a \(type.name) parameter" }
        if let allowed, allowed.isEmpty || allowed.count > 1024 { return "\(allowed.count) allowed values (1 to 1024)" }
        if let d = defaultValue {
            guard let json = try? JSONReader.parse(d.jsonText), let again = try? Value(json: json, as: type), again.jsonText == d.jsonText
            else {
                return "a default that is not a \(type.name)"
            }
            do { try check(d, function: "") } catch { return "a default outside its range or allowed values" }
        }
        return nil
    }

    // Integers are compared with bounds exactly, not through Double (which has 53 bits: 2^53 + 1
    // would pass a maximum of 2^53). An integer v is >= lo exactly when v >= ceil(lo), and
    // <= hi exactly when v <= floor(hi); the rounded bound is an integer-valued double, so the
    // comparison is exact once it is inside the integer type's range.

    private static let twoTo63 = 9_223_372_036_854_775_808.0
    private static let twoTo64 = 18_446_744_073_709_551_616.0

    /// Whether `value` is below `lo`; nil for a value that is not a number.
    static func isBelow(_ value: Value, _ lo: Double) -> Bool? {
        let c = lo.rounded(.up)
        switch value {
        case .int(let v):
            if c < -twoTo63 { return false }
            if c >= twoTo63 { return true }
            return v < Int64(c)
        case .uint(let v):
            if c <= 0 { return false }
            if c >= twoTo64 { return true }
            return v < UInt64(c)
        case .double(let v): return !(v >= lo)
        default: return nil
        }
    }

    /// Whether `value` is above `hi`; nil for a value that is not a number.
    static func isAbove(_ value: Value, _ hi: Double) -> Bool? {
        let f = hi.rounded(.down)
        switch value {
        case .int(let v):
            if f < -twoTo63 { return true }
            if f >= twoTo63 { return false }
            return v > Int64(f)
        case .uint(let v):
            if f < 0 { return true }
            if f >= twoTo64 { return false }
            return v > UInt64(f)
        case .double(let v): return !(v <= hi)
        default: return nil
        }
    }
}

/// Who owns a string or buffer a function returns (from the function's flags).
enum ReturnOwnership: Sendable {
    /// Static or valid until the next call: copied, not freed.
    case plugin
    /// From `host->alloc`: copied, then freed by the host.
    case hostAllocated
    /// From the plugin's allocator: copied, then released with the descriptor's `free_value`.
    case pluginAllocated
}

/// One 16-byte argument or return slot, large enough for every ABI type (`ph_buffer` included).
struct ArgSlot {
    var low: UInt64
    var high: UInt64
}
