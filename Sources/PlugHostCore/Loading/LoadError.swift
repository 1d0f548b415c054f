/// Why a plugin could not be loaded. Every error names the file.
public struct LoadError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The kind of failure, stable for matching in code and tests.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case fileNotFound, notSharedObject, openFailed, noEntryPoint, entryReturnedNull
            case descriptorTooSmall, abiMajorMismatch, needsNewerHost, invalidDescriptor
            case invalidFunction, ffiPrepFailed, initFailed, pluginNotFound, duplicatePlugin
            case wrongArchitecture, timedOut, crashed, quarantined, workerFailed, hashMismatch
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// No file at the path.
        public static let fileNotFound = Code(.fileNotFound)
        /// The file exists but is not an ELF shared object.
        public static let notSharedObject = Code(.notSharedObject)
        /// `dlopen` failed for another reason (missing dependency, wrong architecture…).
        public static let openFailed = Code(.openFailed)
        /// The file does not export `plughost_plugin_entry`.
        public static let noEntryPoint = Code(.noEntryPoint)
        /// The entry point returned NULL.
        public static let entryReturnedNull = Code(.entryReturnedNull)
        /// The descriptor's `struct_size` is smaller than ABI 1.0's descriptor.
        public static let descriptorTooSmall = Code(.descriptorTooSmall)
        /// The plugin was built for another ABI major version.
        public static let abiMajorMismatch = Code(.abiMajorMismatch)
        /// The plugin needs a newer host minor version than this host's.
        public static let needsNewerHost = Code(.needsNewerHost)
        /// A field of the plugin descriptor is invalid.
        public static let invalidDescriptor = Code(.invalidDescriptor)
        /// A function entry of the descriptor is invalid.
        public static let invalidFunction = Code(.invalidFunction)
        /// libffi refused a declared signature.
        public static let ffiPrepFailed = Code(.ffiPrepFailed)
        /// The plugin's `init` returned false.
        public static let initFailed = Code(.initFailed)
        /// A bare plugin name was not found on the search path.
        public static let pluginNotFound = Code(.pluginNotFound)
        /// Another plugin with the same name is already loaded.
        public static let duplicatePlugin = Code(.duplicatePlugin)
        /// An ELF shared object for another machine.
        public static let wrongArchitecture = Code(.wrongArchitecture)
        /// Loading (a constructor, the entry point or `init`) passed the deadline.
        public static let timedOut = Code(.timedOut)
        /// The worker died while loading the plugin.
        public static let crashed = Code(.crashed)
        /// The file crashed too often and is refused until released.
        public static let quarantined = Code(.quarantined)
        /// No worker could be started, or it broke the protocol.
        public static let workerFailed = Code(.workerFailed)
        /// The file's SHA-256 is not the one pinned.
        public static let hashMismatch = Code(.hashMismatch)

        public var description: String { base.rawValue }
        /// The code with this name (its `description`), or nil.
        package static func named(_ name: String) -> Code? { Base(rawValue: name).map(Code.init) }
    }

    /// The kind of failure.
    public let code: Code
    /// The file (or name) that was being loaded.
    public let path: String
    /// What is wrong, including `dlerror()`'s text where there is one.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, path: String, _ message: String) {
        self.code = code
        self.path = path
        self.message = message
    }

    public var description: String { "cannot load plugin \(path): \(message)" }
}
