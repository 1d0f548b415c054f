/// Why a plugin function call failed.
public struct CallError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case unknownFunction, argumentCount, argumentType, argumentRange, pluginError, badReturn, unloaded
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        /// The plugin declares no function of that name.
        public static let unknownFunction = Code(.unknownFunction)
        /// Too many or too few arguments.
        public static let argumentCount = Code(.argumentCount)
        /// An argument's value cannot be converted to the declared type.
        public static let argumentType = Code(.argumentType)
        /// An argument is out of the declared type's range (300 for an int8, a NUL inside a string).
        public static let argumentRange = Code(.argumentRange)
        /// The plugin reported an error through `set_error`.
        public static let pluginError = Code(.pluginError)
        /// The plugin returned something the ABI forbids (a NULL string, invalid UTF-8).
        public static let badReturn = Code(.badReturn)
        /// The plugin was unloaded.
        public static let unloaded = Code(.unloaded)
        public var description: String { base.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// `plugin.function` that was called.
    public let function: String
    /// What went wrong.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, function: String, _ message: String) {
        self.code = code
        self.function = function
        self.message = message
    }

    public var description: String { "\(function): \(message)" }
}
