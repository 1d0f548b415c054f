/// Why a memory operation failed.
public struct MemoryError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable { case invalid, limit, notFound, storage, closed, readOnly, notApplied, forbidden }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        /// The write is malformed (empty concept key, invalid UTF-8, bad metadata…).
        public static let invalid = Code(.invalid)
        /// The write is over a documented limit.
        public static let limit = Code(.limit)
        /// No such memory.
        public static let notFound = Code(.notFound)
        /// The engine failed; nothing was acknowledged.
        public static let storage = Code(.storage)
        /// The memory service was closed.
        public static let closed = Code(.closed)
        /// The memory was opened read-only.
        public static let readOnly = Code(.readOnly)
        /// Not applied: an earlier operation of the same submission failed, and the submission
        /// was made to stop at its first failure (``MemoryService/write(_:stopAtFirstFailure:)``).
        public static let notApplied = Code(.notApplied)
        /// The caller may not use this (a goal context that belongs to another plugin file).
        public static let forbidden = Code(.forbidden)
        public var description: String { base.rawValue }
        /// The code with this name (its `description`), or nil.
        package static func named(_ name: String) -> Code? { Base(rawValue: name).map(Code.init) }
    }
    /// The kind of failure.
    public let code: Code
    /// What is wrong, naming the field.
    public let message: String
    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { message }
}
