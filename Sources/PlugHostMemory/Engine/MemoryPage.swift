import PlugHostCore
/// A position in a goal's creation order, for ``MemoryEngine/allMemories(goal:after:limit:)``.
/// Opaque: pass back the ``MemoryPage/next`` of a page to get the following one.
public struct MemoryCursor: Sendable, Hashable {
    /// The engine's insertion sequence number of the last memory returned.
    package let sequence: Int64
    package init(sequence: Int64) { self.sequence = sequence }
}

/// One page of a goal's memories, oldest first (``MemoryEngine/allMemories(goal:after:limit:)``).
public struct MemoryPage: Sendable {
    /// The memories, in creation (insertion) order.
    public var memories: [Memory]
    /// Where the next page starts, or nil when there is none.
    public var next: MemoryCursor?
    /// Creates a page.
    public init(memories: [Memory], next: MemoryCursor?) {
        self.memories = memories
        self.next = next
    }
}
