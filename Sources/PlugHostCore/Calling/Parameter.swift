/// A declared parameter of a plugin function.
public struct Parameter: Sendable, Hashable {
    /// Its name, by which pipelines pass arguments.
    public let name: String
    /// Its declared type.
    public let type: ValueType

    package init(name: String, type: ValueType) {
        self.name = name
        self.type = type
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
