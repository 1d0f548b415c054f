/// A summary of a loaded plugin: what ``PlugHostRuntime/load(_:as:)`` returns. A plain value,
/// safe to keep and to send across tasks; it holds no reference to the plugin.
public struct PluginInfo: Sendable, Hashable {
    /// The name the runtime knows the plugin by (its descriptor's name unless loaded under an
    /// alias); pass it to ``PlugHostRuntime/invoke(_:_:_:goal:)``.
    public let name: String
    /// The name in the plugin's descriptor.
    public let descriptorName: String
    /// The plugin's version string.
    public let version: String
    /// The plugin's one-line description ("" when it gave none).
    public let description: String
    /// The shared object it was loaded from.
    public let path: String
    /// Its functions, in declaration order.
    public let functions: [Function]

    /// One function of a plugin.
    public struct Function: Sendable, Hashable {
        /// Its name.
        public let name: String
        /// Its one-line doc string ("" when none).
        public let doc: String
        /// Its declared parameters, in order (the call-context pointer not included).
        public let parameters: [Parameter]
        /// Its declared return type.
        public let returnType: ValueType
        /// A C-like signature, as `plughost inspect` prints it.
        public let signature: String
        /// Whether it may run on several threads at once (otherwise the host serialises it
        /// with the plugin's other non-thread-safe functions).
        public let threadSafe: Bool
        /// What the result is (ABI minor 1), or "".
        public let resultDoc: String
        /// The JSON Schema of a string result that carries JSON (ABI minor 1), or nil.
        public let resultSchema: String?

        /// A summary of `function`.
        public init(_ function: PluginFunction) {
            name = function.name
            doc = function.doc
            parameters = function.parameters
            returnType = function.returnType
            signature = function.signature
            threadSafe = function.threadSafe
            resultDoc = function.resultDoc
            resultSchema = function.resultSchema
        }
    }

    /// A summary of `plugin`.
    public init(_ plugin: LoadedPlugin) {
        name = plugin.name
        descriptorName = plugin.descriptorName
        version = plugin.version
        description = plugin.description
        path = plugin.path
        functions = plugin.functions.map(Function.init)
    }

    /// The function with this name, or nil.
    public func function(named name: String) -> Function? { functions.first { $0.name == name } }
}
