import ArgumentParser
import PlugHost
import PlugHostPipeline
import PlugHostTools

/// plughost's exit statuses: one table for every command, in README and `plughost --help`.
enum ExitStatus: Int32, CaseIterable, Sendable {
    /// Done.
    case ok = 0
    /// A plugin call, a pipeline step or an item failed: the plugin reported an error,
    /// crashed, timed out or returned what the ABI forbids.
    case failed = 1
    /// Invalid input: command-line arguments, a pipeline or workload file, an argument value.
    case invalidInput = 2
    /// The memory could not be opened, read or written (missing, locked, read-only, a server
    /// that does not answer, a schema from a newer plughost).
    case storage = 3
    /// A plugin could not be found or loaded (not a plugin, a wrong ABI, an init that failed,
    /// quarantined after crashes).
    case plugin = 4
    /// What the command names does not exist: a memory id, a cluster, a concept, a crash record.
    case notFound = 5
    /// Interrupted (Ctrl-C), as shells report SIGINT; a pipeline run can be resumed.
    case interrupted = 130

    /// The name in JSON error objects.
    var name: String {
        switch self {
        case .ok: "ok"
        case .failed: "failed"
        case .invalidInput: "invalid_input"
        case .storage: "storage"
        case .plugin: "plugin"
        case .notFound: "not_found"
        case .interrupted: "interrupted"
        }
    }

    /// One line of the table.
    var meaning: String {
        switch self {
        case .ok: "success"
        case .failed: "a plugin call, pipeline step or item failed (error, crash, timeout)"
        case .invalidInput: "invalid input: arguments, a pipeline or workload file, a value"
        case .storage: "the memory could not be opened, read or written"
        case .plugin: "a plugin could not be found or loaded, or is quarantined"
        case .notFound: "what was named does not exist (a memory id, cluster, concept, record)"
        case .interrupted: "interrupted (Ctrl-C); `run --resume` goes on"
        }
    }

    /// The table, for `--help`.
    static var table: String {
        "Exit status:\n"
            + allCases.map { "  \(String($0.rawValue).padding(toLength: 4, withPad: " ", startingAt: 0))\($0.meaning)" }
            .joined(separator: "\n")
    }

    /// The status of a command that failed with `error`.
    init(for error: any Error) {
        switch error {
        case let e as CommandError: self = e.status
        case is ValidationError: self = .invalidInput
        case let e as PipelineError: self = Self.status(of: e)
        case is LoadError: self = .plugin
        case let e as CallError: self = Self.status(of: e)
        case let e as MemoryError: self = Self.status(of: e)
        case is ConceptGraphError: self = .notFound
        case is WorkloadError, is DuplicateContentError: self = .invalidInput
        default: self = .failed
        }
    }

    private static func status(of e: PipelineError) -> ExitStatus {
        switch e.code {
        case .stepFailed: .failed
        case .interrupted: .interrupted
        case .unknownPlugin: .plugin
        default: .invalidInput
        }
    }

    private static func status(of e: CallError) -> ExitStatus {
        switch e.code {
        case .unknownFunction, .argumentCount, .argumentType, .argumentRange: .invalidInput
        case .quarantined: .plugin
        default: .failed
        }
    }

    private static func status(of e: MemoryError) -> ExitStatus {
        switch e.code {
        case .invalid, .limit: .invalidInput
        case .notFound: .notFound
        case .storage, .closed, .readOnly: .storage
        default: .failed
        }
    }
}

/// A command's failure with its exit status: printed as `Error: …` (or, with `--json`, as the
/// JSON error object), without usage text.
struct CommandError: Error, CustomStringConvertible {
    let status: ExitStatus
    let description: String
    init(_ status: ExitStatus, _ description: String) {
        self.status = status
        self.description = description
    }
}
