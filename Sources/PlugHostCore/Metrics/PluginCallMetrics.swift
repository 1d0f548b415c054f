import CoreMetrics
import Dispatch

/// One plugin's call metrics through swift-metrics (a no-op until a program bootstraps a
/// backend): calls, failed calls by error code, timeouts, crashes and the call latency, each
/// labelled `plugin` with the name the host knows the plugin by. The handles are made once per
/// loaded plugin, so a call only increments and records. See docs/metrics.md.
public final class PluginCallMetrics: Sendable {
    /// Metric names.
    public enum Name {
        /// Calls (successful or not).
        public static let calls = "plughost_plugin_calls_total"
        /// Calls that failed, labelled `code` with the ``CallError/Code``.
        public static let errors = "plughost_plugin_call_errors_total"
        /// Calls that ran past their deadline.
        public static let timeouts = "plughost_plugin_call_timeouts_total"
        /// Calls whose worker process crashed.
        public static let crashes = "plughost_plugin_crashes_total"
        /// Call latency (a histogram).
        public static let duration = "plughost_plugin_call_duration_seconds"
    }

    private let plugin: String
    private let calls: Counter
    private let timeouts: Counter
    private let crashes: Counter
    private let duration: Timer

    /// The handles of plugin `plugin`.
    public init(plugin: String) {
        self.plugin = plugin
        let dimensions = [("plugin", plugin)]
        calls = Counter(label: Name.calls, dimensions: dimensions)
        timeouts = Counter(label: Name.timeouts, dimensions: dimensions)
        crashes = Counter(label: Name.crashes, dimensions: dimensions)
        duration = Timer(label: Name.duration, dimensions: dimensions)
    }

    /// Runs `body` as one call: counts it, records its latency and classifies a failure.
    @inline(__always)
    func measure<T>(_ body: () throws -> T) throws -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        do {
            let value = try body()
            finish(start)
            return value
        } catch {
            finish(start)
            failed(error)
            throw error
        }
    }

    private func finish(_ start: UInt64) {
        calls.increment()
        duration.recordNanoseconds(Int64(clamping: DispatchTime.now().uptimeNanoseconds &- start))
    }

    /// Counts a failed call (the error path makes the per-code handle).
    private func failed(_ error: any Error) {
        let code = (error as? CallError)?.code
        Counter(label: Name.errors, dimensions: [("plugin", plugin), ("code", code?.description ?? "other")]).increment()
        if code == .timedOut { timeouts.increment() }
        if code == .crashed { crashes.increment() }
    }
}
