import PlugHostCore

/// Thrown by ``MemoryEngine/apply(_:)`` when it would store a memory with a host-assigned id
/// (``EngineBatch/hostAssigned``) whose content digest a stored memory with a host-assigned id
/// already has: another process (or host) wrote the same memory after the write path looked.
/// Nothing of the transaction was stored; the write path looks again and finds that memory.
public struct DuplicateContentError: Error, Sendable, CustomStringConvertible {
    /// The goal of the memory.
    public var goal: String
    /// Creates the error.
    public init(goal: String) { self.goal = goal }
    public var description: String {
        "a memory with the same content was stored in goal \(goal.debugDescription) meanwhile (by another process)"
    }
}
