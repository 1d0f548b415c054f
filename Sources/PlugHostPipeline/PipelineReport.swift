import PlugHost
/// What a pipeline run did.
public struct PipelineReport: Sendable {
    /// Timing of one step.
    public struct StepTiming: Sendable {
        public var id: String
        public var calls: Int
        public var seconds: Double
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
}

extension PipelineReport {
    /// The report as `plughost run --json` prints it (and the C API's plughost_run_pipeline
    /// returns it): name, goal, outputs, seconds, baseline, steps, clusters, memory.
    public var jsonObject: [String: Any] {
        var outputs: [String: Any] = [:]
        for (k, v) in self.outputs { outputs[k] = v.jsonObject }
        return [
            "name": name, "goal": goal, "outputs": outputs, "seconds": seconds, "baseline": baseline,
            "steps": steps.map { ["id": $0.id, "calls": $0.calls, "seconds": $0.seconds] },
            "clusters": clusters.map { ["id": $0.id, "concepts": $0.concepts] },
            "memory": StatsJSON.memory(memory),
        ]
    }
}

/// Progress of a run, for a live display.
public enum PipelineProgress: Sendable {
    /// A step started; `items` is the number of calls it will make.
    case stepStarted(index: Int, count: Int, id: String, items: Int)
    /// One call of the step finished.
    case itemFinished(id: String, done: Int, items: Int)
    /// The step finished.
    case stepFinished(id: String, seconds: Double)
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
        d.cacheNanos = cacheNanos &- e.cacheNanos
        d.batchNanos = batchNanos &- e.batchNanos
        d.engineNanos = engineNanos &- e.engineNanos
        d.clusteringNanos = clusteringNanos &- e.clusteringNanos
        return d
    }
}
