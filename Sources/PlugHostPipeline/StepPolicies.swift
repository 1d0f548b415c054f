/// `retry:` on a step: how often a failed call is tried again, and how long to wait between.
///
/// Only failures that may pass are retried: the plugin reported an error, crashed, timed out or
/// its worker failed. A bad argument, an unknown function or a quarantined plugin is not.
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts in all, the first one included (at least 1).
    public var attempts: Int
    /// Seconds before the second attempt; each later wait doubles, up to `maxBackoff`.
    public var backoff: Double
    /// The longest wait between two attempts, seconds.
    public var maxBackoff: Double

    public init(attempts: Int, backoff: Double = 1, maxBackoff: Double = 30) {
        self.attempts = attempts
        self.backoff = backoff
        self.maxBackoff = maxBackoff
    }

    /// The wait after failed attempt `n` (1-based), seconds.
    public func delay(after n: Int) -> Double {
        min(maxBackoff, backoff * Double(1 << min(max(n - 1, 0), 30)))
    }
}

/// `on_error:` on a step: what a failed item (or call) does to the run.
public enum ErrorPolicy: String, Sendable, Hashable, CaseIterable {
    /// The run stops: no new items start anywhere, running ones finish, memory is flushed, and
    /// the run fails (the default).
    case stop
    /// The item is recorded as failed (in the report, with its error) and left out of the step's
    /// results; the run goes on and exits non-zero at the end.
    case `continue`
    /// As `continue`, but the run still succeeds.
    case ignore
}
