import Foundation
import PlugHost
import PlugHostPipeline

/// `plughost_error_code` (embed.h): what kind of failure a call's error is, so that a caller
/// can act on it (retry, reload, fix its arguments) without parsing the message.
///
/// The raw values are the C enum's and never change meaning; new codes are only added.
enum ErrorCode: Int32, CaseIterable {
    case ok = 0
    case invalidArgument = 1
    case invalidConfiguration = 2
    case closed = 3
    case notFound = 4
    case loadFailed = 5
    case badArguments = 6
    case pluginFailed = 7
    case pluginCrashed = 8
    case pluginTimedOut = 9
    case pluginQuarantined = 10
    case memoryLimit = 11
    case memoryInvalid = 12
    case engine = 13
    case forbidden = 14
    case pipeline = 15
    case `internal` = 99

    /// The name `plughost_error_name` returns: the C constant's suffix in lower case.
    var name: String {
        switch self {
        case .ok: "ok"
        case .invalidArgument: "invalid_argument"
        case .invalidConfiguration: "invalid_configuration"
        case .closed: "closed"
        case .notFound: "not_found"
        case .loadFailed: "load_failed"
        case .badArguments: "bad_arguments"
        case .pluginFailed: "plugin_failed"
        case .pluginCrashed: "plugin_crashed"
        case .pluginTimedOut: "plugin_timed_out"
        case .pluginQuarantined: "plugin_quarantined"
        case .memoryLimit: "memory_limit"
        case .memoryInvalid: "memory_invalid"
        case .engine: "engine"
        case .forbidden: "forbidden"
        case .pipeline: "pipeline"
        case .internal: "internal"
        }
    }

    /// Each code's name as a static C string, for `plughost_error_name`.
    nonisolated(unsafe) static let staticNames: [Int32: UnsafePointer<CChar>] = Dictionary(
        uniqueKeysWithValues: allCases.map { ($0.rawValue, UnsafePointer(strdup($0.name)!)) })
    /// What `plughost_error_name` returns for a number that is no code.
    nonisolated(unsafe) static let unknownName: UnsafePointer<CChar> = UnsafePointer(strdup("unknown")!)

    /// The code of a Swift error the runtime threw.
    init(_ error: any Error) {
        switch error {
        case let e as EmbeddingError:
            switch e.code {
            case .closed: self = .closed
            case .invalidConfiguration: self = .invalidConfiguration
            default: self = .invalidArgument
            }
        case let e as CallError:
            switch e.code {
            case .unknownFunction, .unloaded: self = .notFound
            case .argumentCount, .argumentType, .argumentRange: self = .badArguments
            case .pluginError: self = .pluginFailed
            case .timedOut: self = .pluginTimedOut
            case .quarantined: self = .pluginQuarantined
            default: self = .pluginCrashed  // crashed, workerFailed, badReturn, resultTooBig
            }
        case let e as LoadError:
            self = e.code == .quarantined ? .pluginQuarantined : .loadFailed
        case let e as MemoryError:
            switch e.code {
            case .limit: self = .memoryLimit
            case .invalid: self = .memoryInvalid
            case .notFound: self = .notFound
            case .closed: self = .closed
            case .readOnly, .forbidden: self = .forbidden
            default: self = .engine  // storage, notApplied
            }
        case is PipelineError, is TemplateError: self = .pipeline
        default: self = .internal
        }
    }
}
