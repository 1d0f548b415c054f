import PlugHost
/// A problem with a pipeline file or run. Every error names the file, and where it applies the
/// line and column, the step and the field.
public struct PipelineError: Error, Sendable, CustomStringConvertible {
    /// The kind of problem.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case unreadable, syntax, unknownKey, missingKey, wrongType, unknownPlugin, unknownFunction
            case argumentCount, argumentType, badReference, stepFailed, input, interrupted, journal
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        /// The file cannot be read.
        public static let unreadable = Code(.unreadable)
        /// YAML or JSON syntax error.
        public static let syntax = Code(.syntax)
        /// A key the format does not have.
        public static let unknownKey = Code(.unknownKey)
        /// A required key is missing.
        public static let missingKey = Code(.missingKey)
        /// A key has a value of the wrong shape.
        public static let wrongType = Code(.wrongType)
        /// A plugin cannot be found or loaded.
        public static let unknownPlugin = Code(.unknownPlugin)
        /// A step calls a function the plugin does not have.
        public static let unknownFunction = Code(.unknownFunction)
        /// A step passes the wrong number of arguments (or unknown names).
        public static let argumentCount = Code(.argumentCount)
        /// A literal argument does not fit the declared parameter type.
        public static let argumentType = Code(.argumentType)
        /// A reference to a step that does not come earlier, an unknown input, or a bad `${…}`.
        public static let badReference = Code(.badReference)
        /// A step failed while running.
        public static let stepFailed = Code(.stepFailed)
        /// A `--input` is malformed or names an unknown input.
        public static let input = Code(.input)
        /// The run was interrupted (SIGINT, ``PipelineRunner/cancel()``); its journal can resume it.
        public static let interrupted = Code(.interrupted)
        /// The run journal cannot be read, written, or does not match the pipeline (`--resume`).
        public static let journal = Code(.journal)
        public var description: String { base.rawValue }
    }

    /// The kind of problem.
    public var code: Code
    /// The pipeline file.
    public var file: String
    /// 1-based line and column, when known.
    public var line: Int?, column: Int?
    /// The step id, when the problem is in a step.
    public var step: String?
    /// The field, e.g. `args.k` or `foreach`.
    public var field: String?
    /// The item of a `foreach`, when a run failed on one.
    public var item: String?
    /// What is wrong.
    public var message: String
    /// For a run that failed or was interrupted: what it did until then (partial outputs, the
    /// steps that finished, failed items, memory counters).
    public var report: PipelineReport?

    /// Creates an error.
    public init(
        _ code: Code, file: String, line: Int? = nil, column: Int? = nil, step: String? = nil, field: String? = nil, item: String? = nil,
        _ message: String
    ) {
        self.code = code
        self.file = file
        self.line = line
        self.column = column
        self.step = step
        self.field = field
        self.item = item
        self.message = message
    }

    public var description: String {
        var where_ = file
        if let line { where_ += ":\(line)" + (column.map { ":\($0)" } ?? "") }
        var parts: [String] = []
        if let step { parts.append("step \(step)") }
        if let item { parts.append("item \(item)") }
        if let field { parts.append("field \(field)") }
        return "\(where_): \(parts.isEmpty ? "" : parts.joined(separator: ", ") + ": ")\(message)"
    }
}
