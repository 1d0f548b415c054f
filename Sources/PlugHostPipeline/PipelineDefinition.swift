import PlugHost
/// A parsed pipeline file (see `docs/pipelines.md`).
public struct PipelineDefinition: Sendable {
    /// Where something was written in the file.
    public struct Location: Sendable, Hashable {
        /// 1-based line and column.
        public var line: Int, column: Int
    }

    /// A literal argument as written.
    public enum Literal: Sendable, Hashable {
        case int(Int64), uint(UInt64), double(Double), bool(Bool), string(String)

        /// The plugin value it stands for.
        public var value: Value {
            switch self {
            case .int(let i): .int(i)
            case .uint(let u): .uint(u)
            case .double(let d): .double(d)
            case .bool(let b): .bool(b)
            case .string(let s): .string(s)
            }
        }
    }

    /// One argument: a literal or a template with references.
    public enum Argument: Sendable, Hashable {
        case literal(Literal)
        case template(Template)
    }

    /// An argument with where it was written.
    public struct PlacedArgument: Sendable, Hashable {
        public var argument: Argument
        public var location: Location?
    }

    /// What a `foreach` iterates over.
    public enum Foreach: Sendable, Hashable {
        /// A list input or a foreach step's results: `foreach: ${inputs.texts}`.
        case reference(Reference)
        /// The non-empty lines of a file, relative to the pipeline file: `foreach: {lines: data/x.txt}`.
        case lines(path: String)
    }

    /// A step.
    public struct Step: Sendable {
        public var id: String
        public var plugin: String
        public var function: String
        /// Arguments by parameter name, in the order written (nil when given by position).
        public var named: [(name: String, value: PlacedArgument)]?
        /// Arguments by position (nil when given by name).
        public var positional: [PlacedArgument]?
        public var foreach: Foreach?
        public var location: Location?
        /// Where each key of the step was written, for errors.
        public var fieldLocations: [String: Location]
    }

    /// The file it came from.
    public var file: String
    /// The folder relative paths resolve against.
    public var baseDirectory: String
    public var name: String
    public var goal: String
    /// Local plugin name → path or bare name, in the order written.
    public var plugins: [(name: String, reference: String, location: Location?)]
    /// Inputs in the order written.
    public var inputs: [(name: String, value: PipelineValue)]
    public var steps: [Step]
    /// Outputs in the order written.
    public var outputs: [(name: String, template: Template, location: Location?)]
}
