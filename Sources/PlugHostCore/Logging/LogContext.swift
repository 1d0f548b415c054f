import Logging

/// Metadata for the plugin log lines of calls made while it is bound: a pipeline runner binds
/// `step` and `item` around each item's call, on the thread that makes it.
///
/// A task-local: outside a task it is bound to the current thread, so a plugin call made on
/// that thread (in-process, or waiting for its worker) tags its lines; threads the call does
/// not run on (a new `Thread`) do not inherit it.
public enum LogContext {
    @TaskLocal public static var metadata: Logger.Metadata = [:]

    /// Runs `body` with `extra` added to the current metadata.
    public static func with<R>(_ extra: Logger.Metadata, _ body: () throws -> R) rethrows -> R {
        var merged = metadata
        merged.merge(extra) { _, new in new }
        return try $metadata.withValue(merged, operation: body)
    }
}
