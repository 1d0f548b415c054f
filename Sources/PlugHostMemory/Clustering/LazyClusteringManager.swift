import Dispatch
import Foundation
import Synchronization
import PlugHostCore

/// Lazy clustering: per goal, graph changes are queued and the goal is re-clustered whole
/// (``LouvainClustering``) when its writes since its last run reach
/// `max(threshold, ⌈α·E⌉)` (E: the goal's edges at that run, α = ``growthFactor``), when its
/// oldest pending write is older than `timeout`, on ``flush()`` and at shutdown; only goals
/// with changes are touched. Runs happen in the background, off the writer's thread.
///
/// Over a ``ClusteringCoordinator`` (SQLite, in-memory) a run happens in a clustering session
/// under the engine's write lock: when no other process changed the goal since this process's
/// own last transaction on it, the process's weighted graph (``WeightedConceptGraph``) is
/// exact once the queued changes are applied, and only the assignments that changed are
/// stored; otherwise (and the first time) the goal is re-read inside the session and its graph
/// rebuilt. Commit versions tell which queued changes a re-read already covers.
///
/// Over a ``SharedMemoryEngine`` (several hosts writing one memory) there is no per-process
/// graph: a run re-clusters the goal in full from the engine's stored edge counts inside the
/// engine's clustering session, one host at a time (``SharedClustering``).
///
/// ``flush()`` also finishes goals that other processes left pending (a killed writer).
final class LazyClusteringManager: Sendable {
    private struct Pending {
        /// Graph changes of this process's commits, each with the goal's version after the
        /// commit, in commit order (commits are recorded by the committing leader, one at a time).
        var chunks: [(version: Int64, changes: [GraphChange])] = []
        /// The highest commit version recorded.
        var through: Int64 = 0
        var writes = 0
        var oldest: Double?
        var scheduled = false
    }

    /// A goal's weighted graph.
    private struct GoalGraph {
        var graph: WeightedConceptGraph
        /// The commit version the graph was read at: changes of commits up to it are in it.
        var readAt: Int64
        /// The highest commit version whose changes are in the graph.
        var through: Int64
    }

    private let engine: any MemoryEngine
    /// The engine when one process's write path clusters it (SQLite, in-memory).
    private let coordinator: (any ClusteringCoordinator)?
    /// The engine when it is shared between hosts: clustering is then the engine's.
    private let shared: (any SharedMemoryEngine)?
    private let threshold: Int
    private let timeout: Double
    private let clock: any WallClock
    private let background: Bool
    private let pending = Mutex<[String: Pending]>([:])
    /// Writes of a goal that make a run due, from its edges at its last run (goals not run yet:
    /// `threshold`).
    private let limits = Mutex<[String: Int]>([:])
    /// Graphs of goals loaded in this process. Held for the whole of a run.
    private let graphs = Mutex<[String: GoalGraph]>([:])
    /// Over a shared engine: goals whose pending work left by a killed host was checked.
    private let loaded = Mutex<Set<String>>([])
    private let queue = DispatchQueue(label: "plughost.clustering", qos: .utility)
    /// Goals handed to the background worker, and whether it is scheduled or running.
    private struct Worker {
        var due: [String] = []
        var active = false
        /// Set by `flush`: the worker stops lingering and goes idle as soon as nothing is due.
        var hurry = false
    }
    private let worker = Mutex(Worker())
    /// What the lingering worker waits on; `flush` signals it to cut the wait short.
    private let lingerWait = DispatchSemaphore(value: 0)
    private let runs = Atomic<Int>(0)
    private let nanos = Atomic<UInt64>(0)
    /// ``MemoryStats/clusteringRunsSkipped`` and ``MemoryStats/clusteringSavedNanos``.
    private let skipped = Atomic<Int>(0)
    private let savedNanos = Atomic<UInt64>(0)
    private let metrics: MemoryMetrics
    /// The last failure of each goal's clustering, until a later run of the goal succeeds.
    private let errors = Mutex<[String: MemoryError]>([:])
    private let tickInterval: Double
    private let theta: Int32

    /// Fewest writes of a goal between runs over a ``SharedMemoryEngine``.
    static let sharedMinimumThreshold = 1000

    /// α: a goal is due after `max(threshold, ⌈α·E⌉)` writes, E its edges at its last run, so
    /// that a run's cost (linear in E, per Louvain level) is spread over enough writes.
    static let growthFactor = 0.05

    /// Writes that make a goal with `edges` edges at its last run due.
    static func writeLimit(threshold: Int, edges: Int) -> Int {
        max(threshold, Int((growthFactor * Double(edges)).rounded(.up)))
    }

    init(
        engine: any MemoryEngine, theta: Int32, threshold: Int, timeout: Double, clock: any WallClock, background: Bool,
        metrics: MemoryMetrics = MemoryMetrics()
    ) throws {
        self.engine = engine
        self.metrics = metrics
        shared = engine as? any SharedMemoryEngine
        coordinator = shared == nil ? engine as? any ClusteringCoordinator : nil
        guard shared != nil || coordinator != nil else {
            throw MemoryError(
                .invalid,
                "the \(engine.kind) engine is neither a ClusteringCoordinator nor a SharedMemoryEngine: the write path cannot keep its clusters"
            )
        }
        self.theta = theta
        // Over a shared engine a run re-reads the goal's whole graph from the database, so it
        // waits for more writes (or the timeout, or a flush).
        self.threshold = shared == nil ? max(1, threshold) : max(Self.sharedMinimumThreshold, threshold)
        self.timeout = timeout
        self.clock = clock
        self.background = background
        tickInterval = max(0.05, min(timeout / 4, 1))
        if background { scheduleTick() }
    }

    /// Checks the timeout every `tickInterval` seconds while the manager lives.
    private func scheduleTick() {
        DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + tickInterval) { [weak self] in
            guard let self else { return }
            self.tick()
            self.scheduleTick()
        }
    }

    /// Number of clustering runs so far.
    var runCount: Int { runs.load(ordering: .relaxed) }
    /// Time spent clustering, in nanoseconds.
    var nanoseconds: UInt64 { nanos.load(ordering: .relaxed) }
    /// Eager runs the runs so far replaced beyond themselves (``MemoryStats/clusteringRunsSkipped``).
    var runsSkipped: Int { skipped.load(ordering: .relaxed) }
    /// ``MemoryStats/clusteringSavedNanos``.
    var savedNanoseconds: UInt64 { savedNanos.load(ordering: .relaxed) }

    /// Counts a successful run that started at `start` (uptime nanoseconds) and covered
    /// `writes` writes and forgets: the eager path would have run once for each.
    private func ranOnce(start: UInt64, writes: Int) {
        let duration = DispatchTime.now().uptimeNanoseconds - start
        let saved = max(0, writes - 1)
        let savedTime = UInt64(saved) &* duration
        runs.add(1, ordering: .relaxed)
        if saved > 0 {
            skipped.add(saved, ordering: .relaxed)
            savedNanos.add(savedTime, ordering: .relaxed)
        }
        metrics.clusteringRun(nanos: duration, saved: saved, savedNanos: savedTime)
    }

    /// Called by the writer before it applies a commit to `goal`. Over a shared engine, finishes
    /// work a killed host left pending, once per goal; otherwise nothing: a goal's graph is
    /// read by its first clustering run, inside the run's session.
    func ensureLoaded(goal: String) throws {
        guard let shared else { return }
        if loaded.withLock({ $0.insert(goal).inserted }), try engine.goalsPendingClustering().contains(goal) {
            let edges = try SharedClustering.recluster(shared, goal: goal, theta: theta)
            setLimit(goal, edges: edges)
            runs.add(1, ordering: .relaxed)
        }
    }

    /// Queues the changes of a commit for `goal`; `version` is the goal's commit version after
    /// it (``BatchResult/goalVersion``).
    func record(goal: String, changes: [GraphChange], writes: Int, version: Int64) {
        let limit = limits.withLock { $0[goal] } ?? threshold
        let runNow: Bool = pending.withLock { p in
            // Updated in place: one hash of the goal, and the queued changes are never copied.
            add(changes, writes: writes, version: version, limit: limit, to: &p[goal, default: Pending()])
        }
        guard runNow else { return }
        if background {
            schedule(goal)
        } else {
            run(goal: goal)
        }
    }

    /// Hands a due goal to the background worker, waking it only when it is idle: a worker
    /// already scheduled or running takes the goal in the same wake-up.
    private func schedule(_ goal: String) {
        let wake = worker.withLock { w -> Bool in
            w.due.append(goal)
            guard !w.active else { return false }
            w.active = true
            return true
        }
        if wake { queue.async { [self] in drain() } }
    }

    /// The background worker: runs due goals until none is left. While writes keep coming it
    /// stays awake: with nothing due it waits `lingerMicroseconds` and looks again (up to
    /// `lingerPolls` times) before it goes idle, so that a steady writer finds it active and
    /// never pays for waking it (a wake-up costs the writer more than a clustering run).
    private func drain() {
        var polls = 0
        while true {
            let next = worker.withLock { w -> String?? in
                if !w.due.isEmpty { return .some(w.due.removeFirst()) }
                if polls < Self.lingerPolls && !w.hurry { return .some(nil) }
                w.active = false
                w.hurry = false
                return .none
            }
            switch next {
            case .some(.some(let goal)):
                polls = 0
                run(goal: goal)
            case .some(.none):
                polls += 1
                _ = lingerWait.wait(timeout: .now() + .microseconds(Self.lingerMicroseconds))
            case .none:
                return
            }
        }
    }

    private static let lingerPolls = 2
    private static let lingerMicroseconds = 200

    /// Adds a commit's changes to a goal's pending work; true when a run is due.
    private func add(_ changes: [GraphChange], writes: Int, version: Int64, limit: Int, to e: inout Pending) -> Bool {
        if !changes.isEmpty { e.chunks.append((version, changes)) }
        if version > e.through { e.through = version }
        e.writes += writes
        if e.oldest == nil { e.oldest = clock.now() }
        let due = e.writes >= limit && !e.scheduled
        if due && background { e.scheduled = true }
        return due
    }

    /// Notes the write limit of `goal` after a run that saw `edges` edges.
    private func setLimit(_ goal: String, edges: Int) {
        let limit = Self.writeLimit(threshold: threshold, edges: edges)
        limits.withLock { $0[goal] = limit }
    }

    /// Runs clustering for goals whose oldest pending write is older than the timeout.
    func tick() {
        let now = clock.now()
        let due: [String] = pending.withLock { p in
            var out: [String] = []
            for (goal, var e) in p where !e.scheduled && (e.oldest.map { now - $0 >= timeout } ?? false) {
                if background { e.scheduled = true }
                p[goal] = e
                out.append(goal)
            }
            return out
        }
        for goal in due {
            if background { schedule(goal) } else { run(goal: goal) }
        }
    }

    /// Runs every goal's pending clustering now, on the caller's thread, and waits for runs
    /// already under way. Throws the first engine error any run met.
    func flush() throws {
        var goals = pending.withLock { Array($0.keys) }
        // Other processes' pending work too (a host or process killed before its flush), so
        // that every process reads the same clusters after its flush.
        do {
            for g in try engine.goalsPendingClustering() where !goals.contains(g) {
                pending.withLock { p in if p[g] == nil { p[g] = Pending() } }
                goals.append(g)
            }
        } catch {
            throw MemoryError(.storage, "listing goals with clustering pending failed: \(error)")
        }
        for goal in goals { run(goal: goal) }
        // A lingering worker would hold up the wait below: it goes idle at once instead.
        if background
            && worker.withLock({ w -> Bool in
                w.hurry = w.active
                return w.active
            })
        {
            lingerWait.signal()
        }
        queue.sync {}
        if let error = errors.withLock({ e -> MemoryError? in
            defer { e.removeAll() }
            return e.keys.sorted().first.flatMap { e[$0] }
        }) {
            throw error
        }
    }

    /// Runs `goal`'s pending clustering now, on the caller's thread: this process's queued work,
    /// or work another process (or host) left pending in the engine. With none, it only waits for
    /// a run of the goal under way. Afterwards the goal's stored clusters cover every write
    /// acknowledged before the call. Throws what the run met.
    func flush(goal: String) throws {
        let queued = pending.withLock { $0[goal] != nil }
        let elsewhere: Bool
        do {
            elsewhere = try !queued && engine.goalsPendingClustering().contains(goal)
        } catch {
            throw MemoryError(.storage, "listing goals with clustering pending failed: \(error)")
        }
        if queued || elsewhere {
            try runNow(goal: goal)
        } else {
            // A background run takes the goal's work out of `pending` inside `graphs`' lock and
            // stores before it lets go: taking the lock waits for it. (Over a shared engine the
            // goal stays marked in the engine until the run's session commits.)
            graphs.withLock { _ in }
        }
    }

    /// Number of goals with clustering work pending.
    var pendingGoals: Int { pending.withLock { $0.values.filter { !$0.chunks.isEmpty || $0.writes > 0 }.count } }

    /// Clusters `goal` now, on the caller's thread, whether or not this process has work
    /// queued for it (used at open for goals left pending). Throws what the run met.
    func runNow(goal: String) throws {
        pending.withLock { p in if p[goal] == nil { p[goal] = Pending() } }
        run(goal: goal)
        if let error = errors.withLock({ $0.removeValue(forKey: goal) }) { throw error }
    }

    private func run(goal: String) {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { nanos.add(DispatchTime.now().uptimeNanoseconds - start, ordering: .relaxed) }
        if let shared {
            guard let work = pending.withLock({ $0.removeValue(forKey: goal) }) else { return }
            do {
                let edges = try SharedClustering.recluster(shared, goal: goal, theta: theta)
                setLimit(goal, edges: edges)
                ranOnce(start: start, writes: work.writes)
                errors.withLock { _ = $0.removeValue(forKey: goal) }
            } catch {
                errors.withLock { $0[goal] = MemoryError(.storage, "clustering goal \(goal.debugDescription) failed: \(error)") }
            }
            return
        }
        guard let coordinator else { return }
        graphs.withLock { graphs in
            guard let work = pending.withLock({ $0.removeValue(forKey: goal) }) else { return }
            // Taken out so that it is uniquely referenced and mutated in place.
            var entry = graphs.removeValue(forKey: goal)
            do {
                try coordinator.withClusteringSession(goal: goal) { session in
                    var changes: [(concept: String, cluster: String?)]
                    let through: Int64
                    if var e = entry, !session.changedElsewhere {
                        // Only this process changed the goal: its changes are exact. Taken out
                        // of `entry` so that the graph is uniquely referenced (no copy).
                        entry = nil
                        for chunk in work.chunks where chunk.version > e.readAt {
                            for change in chunk.changes { e.graph.apply(change) }
                        }
                        e.through = max(e.through, work.through)
                        // Nothing the clusters depend on changed: nothing to store.
                        changes = e.graph.dirty ? e.graph.recluster() : []
                        through = e.through
                        entry = e
                    } else {
                        // First run, or another process wrote: the goal as committed now (nobody
                        // can commit until the session ends), re-clustered in full. Queued changes
                        // of commits up to here are in it already.
                        let stored = try session.read()
                        let e: GoalGraph
                        (e, changes) = Self.load(stored, theta: theta)
                        through = e.through
                        entry = e
                    }
                    // Clears the pending mark when the graph includes every commit of the goal.
                    try session.store(changes, through: through)
                }
                ranOnce(start: start, writes: work.writes)
                errors.withLock { _ = $0.removeValue(forKey: goal) }
                if let entry { setLimit(goal, edges: entry.graph.edgeCount) }
            } catch {
                // Nothing was stored: the graph may be ahead of the file, so it is read anew at
                // the next run, which a later flush makes (the goal stays pending in the engine).
                entry = nil
                pending.withLock { p in if p[goal] == nil { p[goal] = Pending() } }
                errors.withLock { $0[goal] = MemoryError(.storage, "clustering goal \(goal.debugDescription) failed: \(error)") }
            }
            if let entry { graphs[goal] = entry }
        }
    }

    /// A goal's graph built from its stored state, and the assignment changes that make the
    /// stored assignments exact (stale ones of concepts no longer held are removed).
    private static func load(_ stored: StoredGoal, theta: Int32) -> (GoalGraph, [(concept: String, cluster: String?)]) {
        var graph = WeightedConceptGraph()
        for (concept, cluster) in stored.assignments { graph.assumeStored(concept, cluster: cluster) }
        for c in stored.graph.concepts.keys { graph.setPresent(c, true) }
        // Present edges with their weights (co + dep); rows that are not edges weigh nothing.
        for e in stored.graph.edges {
            let w = EdgeRule.weight(co: e.counts.co, dep: e.counts.dep, threshold: theta)
            if w > 0 { graph.setWeight(e.a, e.b, w) }
        }
        var changes = graph.recluster()
        for concept in stored.assignments.keys where stored.graph.concepts[concept] == nil { changes.append((concept, nil)) }
        return (GoalGraph(graph: graph, readAt: stored.committed, through: stored.committed), changes)
    }
}
