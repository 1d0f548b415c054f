/// Why a ``PlugHostRuntime`` (or the C embedding API over it) refused an operation.
///
/// Failures of the operation itself keep their own types: ``LoadError`` for loading,
/// ``CallError`` for calling, ``MemoryError`` for memory.
public struct EmbeddingError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable { case closed, invalidConfiguration, invalidArgument }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        /// The runtime was closed; it accepts no more operations.
        public static let closed = Code(.closed)
        /// A ``HostConfiguration`` (or its JSON) is invalid.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// An argument is malformed (bad JSON, a NULL pointer, an unknown parameter name…).
        public static let invalidArgument = Code(.invalidArgument)
        /// The code's name: `closed`, `invalidConfiguration`, `invalidArgument`.
        public var description: String { base.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// What is wrong, naming the argument or key.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The error every operation on a closed runtime throws: "host is closed (…)".
    public static func closed(_ operation: String) -> EmbeddingError {
        EmbeddingError(.closed, "host is closed: \(operation) after close() is not allowed")
    }

    /// The message.
    public var description: String { message }
}
