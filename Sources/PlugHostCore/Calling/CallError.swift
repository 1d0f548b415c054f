/// Why a plugin function call failed.
public struct CallError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case unknownFunction, argumentCount, argumentType, argumentRange, pluginError, badReturn, unloaded
            case resultTooBig, timedOut, crashed, quarantined, workerFailed
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
        /// A returned string or buffer is over the plugin's `maxResultBytes`.
        public static let resultTooBig = Code(.resultTooBig)
        /// The call passed its deadline; the worker was killed.
        public static let timedOut = Code(.timedOut)
        /// The worker died during the call (a signal, an exit, an exception or a panic).
        public static let crashed = Code(.crashed)
        /// The plugin's file crashed too often and is refused until released.
        public static let quarantined = Code(.quarantined)
        /// The worker could not be started or broke the protocol.
        public static let workerFailed = Code(.workerFailed)

        /// The code with this name (its `description`), or nil.
        package static func named(_ name: String) -> Code? { Base(rawValue: name).map(Code.init) }
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

    public var description: String {
        // These messages name the plugin and function themselves.
        [.timedOut, .crashed, .quarantined].contains(code) ? message : "\(function): \(message)"
    }
}
