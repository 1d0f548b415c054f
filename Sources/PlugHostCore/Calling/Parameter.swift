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
        func number() -> Double? {
            switch value {
            case .int(let v): Double(v)
            case .uint(let v): Double(v)
            case .double(let v): v
            default: nil
            }
        }
        func bound(_ d: Double) -> String { d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : Value.format(d) }
        if let n = number() {
            if let lo = minimum, !(n >= lo) {
                throw CallError(.argumentRange, function: function, "argument \(name) is \(value.text), below its minimum \(bound(lo))")
            }
            if let hi = maximum, !(n <= hi) {
                throw CallError(.argumentRange, function: function, "argument \(name) is \(value.text), above its maximum \(bound(hi))")
            }
        }
        if let allowed, case .string(let s) = value, !allowed.contains(s) {
            throw CallError(
                .argumentRange, function: function,
                "argument \(name) is \(s.debugDescription), not one of \(allowed.map(\.debugDescription).joined(separator: ", "))")
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
