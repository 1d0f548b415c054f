import PlugHost
/// How a pipeline loads one plugin: `plugins: {x: {path: …, isolation: in-process, sha256: …}}`.
public struct PluginSettings: Sendable, Hashable {
    /// `isolation:`, or nil for the host's default.
    public var isolation: Isolation?
    /// `sha256:` pin; loading refuses a file with another digest.
    public var sha256: String?
    /// `timeout:` seconds per call (0: none), or nil for the host's.
    public var timeout: Duration??
    /// `memory_limit_mb:`, or nil for the host's.
    public var memoryLimitMiB: UInt64?
    /// `allow_write:` folders (relative to the pipeline file), added to the host's.
    public var allowWrite: [String] = []
    /// `allow_read:` folders (relative to the pipeline file), added to the host's.
    public var allowRead: [String] = []
    /// `allow_network:`, or nil for the host's.
    public var allowNetwork: Bool?

    public init() {}
}

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
        /// The step's own deadline per call (`timeout:` seconds), or nil for its plugin's.
        public var timeout: Duration?
        /// `parallel:` items at once (foreach steps), or nil for the run's default.
        public var parallel: Int?
        /// `needs:` steps this one waits for beyond those it references; nil when not written
        /// (then it also waits for the earlier steps of its plugin).
        public var needs: [String]?
        /// `retry:`, or nil: one attempt.
        public var retry: RetryPolicy?
        /// `on_error:`.
        public var onError: ErrorPolicy = .stop
        public var location: Location?
        /// Where each key of the step was written, for errors.
        public var fieldLocations: [String: Location]
        /// `if:`: the step (or, when it uses `${item}`, each item) runs only when it holds.
        public var condition: Condition? = nil
    }

    /// The file it came from.
    public var file: String
    /// The folder relative paths resolve against.
    public var baseDirectory: String
    public var name: String
    public var goal: String
    /// Local plugin name → path or bare name, in the order written.
    public var plugins: [(name: String, reference: String, location: Location?)]
    /// How each plugin (by local name) is loaded, when the pipeline says more than its path.
    public var pluginSettings: [String: PluginSettings] = [:]
    /// Inputs in the order written.
    public var inputs: [(name: String, value: PipelineValue)]
    public var steps: [Step]
    /// Outputs in the order written.
    public var outputs: [(name: String, template: Template, location: Location?)]
    /// `theta:` (θ, at least 1), or nil: the memory's (stored, or the default). A run refuses a
    /// memory created with another θ; the CLI opens the memory with it (`--theta` overrides).
    public var theta: Int32?
    /// Where `theta:` was written.
    public var thetaLocation: Location?
    /// `env:`: the environment variables `${env.NAME}` may read, in the order written.
    public var env: [EnvVariable] = []
}
