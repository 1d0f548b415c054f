import Foundation
import PlugHost
/// What a pipeline run did.
public struct PipelineReport: Sendable {
    /// Timing of one step.
    public struct StepTiming: Sendable {
        public var id: String
        /// Plugin calls made (retries included), restored items not included.
        public var calls: Int
        public var seconds: Double
        /// Items whose result came from the run journal (`--resume`), not from a call.
        public var restored: Int = 0
        /// Items that failed (after their retries).
        public var failed: Int = 0
        /// Items (or the step) left out by `if:`.
        public var skipped: Int = 0
        /// Calls that were attempts again after a failure.
        public var retries: Int = 0
        /// Whether every item ran (false: the run stopped or was interrupted during the step).
        public var complete: Bool = true
    }

    /// An item that failed, with its error.
    public struct ItemFailure: Sendable {
        /// The step.
        public var step: String
        /// The item's 1-based position in the step's items (nil for a step without foreach).
        public var item: Int?
        /// The item, abbreviated.
        public var itemText: String?
        /// What went wrong (the last attempt's error).
        public var message: String
        /// Attempts made.
        public var attempts: Int
        /// The step's `on_error`.
        public var policy: ErrorPolicy
    }
    public var name: String
    public var goal: String
    /// Outputs in the order the file lists them.
    public var outputs: [(name: String, value: PipelineValue)]
    public var steps: [StepTiming]
    /// Plugin calls made.
    public var calls: Int { steps.reduce(0) { $0 + $1.calls } }
    /// The write path's counters for this run (differences over the run).
    public var memory: MemoryStats
    /// The goal's clusters after the run.
    public var clusters: [Cluster]
    /// Wall time of the run, seconds.
    public var seconds: Double
    /// True when run with the three layers off.
    public var baseline: Bool
    /// Items that failed, in the order they failed; under `on_error: continue` they make the run
    /// exit non-zero (see ``succeeded``).
    public var failures: [ItemFailure] = []
    /// The run journal used, if any.
    public var journal: String?

    /// False when an item failed in a step whose `on_error` is `continue`.
    public var succeeded: Bool { !failures.contains { $0.policy != .ignore } }
    /// Items restored from the journal.
    public var restored: Int { steps.reduce(0) { $0 + $1.restored } }
}

extension PipelineReport {
    /// The report as `plughost run --json` prints it (and the C API's plughost_run_pipeline
    /// returns it): name, goal, outputs, seconds, baseline, steps, clusters, memory.
    public var jsonObject: [String: Any] {
        var outputs: [String: Any] = [:]
        for (k, v) in self.outputs { outputs[k] = v.jsonObject }
        return [
            "name": name, "goal": goal, "outputs": outputs, "seconds": seconds, "baseline": baseline,
            "steps": steps.map {
                [
                    "id": $0.id, "calls": $0.calls, "seconds": $0.seconds, "restored": $0.restored, "failed": $0.failed,
                    "skipped": $0.skipped, "retries": $0.retries, "complete": $0.complete,
                ]
            },
            "failures": failures.map { f -> [String: Any] in
                var o: [String: Any] = ["step": f.step, "message": f.message, "attempts": f.attempts, "on_error": f.policy.rawValue]
                if let i = f.item { o["item"] = i }
                if let t = f.itemText { o["item_text"] = t }
                return o
            },
            "succeeded": succeeded, "restored": restored, "journal": journal ?? NSNull(),
            "clusters": clusters.map { ["id": $0.id, "concepts": $0.concepts] },
            "memory": StatsJSON.memory(memory),
        ]
    }
}

/// Progress of a run, for a live display.
///
/// Events come from the threads running the steps, several at once when steps or items run
/// concurrently; a handler must be thread-safe.
public enum PipelineProgress: Sendable {
    /// A step started; `items` is the number of items it has (1 without foreach), `restored`
    /// of them already done in the journal; `parallel` run at once.
    case stepStarted(index: Int, count: Int, id: String, items: Int, restored: Int, parallel: Int)
    /// One item of the step finished (`failed`: it failed after its retries); `done` counts
    /// the step's finished items, restored ones included.
    case itemFinished(id: String, done: Int, items: Int, failed: Bool)
    /// An item failed and will be tried again after `delay` seconds.
    case itemRetrying(id: String, item: Int, attempt: Int, delay: Double, message: String)
    /// The step finished (or stopped early: `timing.complete` is false).
    case stepFinished(id: String, timing: PipelineReport.StepTiming)
    /// The step did not run: its `if:` was false.
    case stepSkipped(id: String)
}

extension MemoryStats {
    /// Counter differences `self - earlier`.
    func since(_ e: MemoryStats) -> MemoryStats {
        var d = MemoryStats()
        d.cacheHits = cacheHits - e.cacheHits
        d.cacheMisses = cacheMisses - e.cacheMisses
        d.cacheEvictions = cacheEvictions - e.cacheEvictions
        d.cacheExpirations = cacheExpirations - e.cacheExpirations
        d.writes = writes - e.writes
        d.deduplicated = deduplicated - e.deduplicated
        d.forgets = forgets - e.forgets
        d.rejected = rejected - e.rejected
        d.commits = commits - e.commits
        d.batches = batches - e.batches
        d.edgeOps = edgeOps - e.edgeOps
        d.edgeOpsUnbatched = edgeOpsUnbatched - e.edgeOpsUnbatched
        d.clusteringRuns = clusteringRuns - e.clusteringRuns
        d.clusteringRunsSkipped = clusteringRunsSkipped - e.clusteringRunsSkipped
        d.clusteringSavedNanos = clusteringSavedNanos &- e.clusteringSavedNanos
        d.edgeWriteSavedNanos = edgeWriteSavedNanos &- e.edgeWriteSavedNanos
        d.cacheNanos = cacheNanos &- e.cacheNanos
        d.batchNanos = batchNanos &- e.batchNanos
        d.engineNanos = engineNanos &- e.engineNanos
        d.clusteringNanos = clusteringNanos &- e.clusteringNanos
        return d
    }
}
