import Dispatch
import Foundation
import Synchronization

/// Lazy clustering: per goal, graph changes are queued and clustering runs after
/// `threshold` writes, when the oldest pending write is older than `timeout`, on ``flush()``
/// and at shutdown. Runs are incremental (``ClusterGraph``) and happen in the background,
/// off the writer's thread.
///
/// Over a ``SharedMemoryEngine`` (several hosts writing one memory) there is no per-process
/// graph: a run asks the engine to re-cluster the goal from its stored edge counts, one host
/// at a time, and ``flush()`` also finishes goals other hosts left pending.
final class LazyClusteringManager: Sendable {
    private struct Pending {
        var changes: [GraphChange] = []
        var writes = 0
        var oldest: Double?
        var scheduled = false
    }

    private let engine: any MemoryEngine
    /// The engine when it is shared between hosts: clustering is then the engine's.
    private let shared: (any SharedMemoryEngine)?
    private let threshold: Int
    private let timeout: Double
    private let clock: any WallClock
    private let background: Bool
    private let pending = Mutex<[String: Pending]>([:])
    /// Graphs of goals loaded in this process. Held for the whole of a run.
    private let graphs = Mutex<[String: ClusterGraph]>([:])
    /// Goals whose graph is loaded.
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
    private let lastError = Mutex<MemoryError?>(nil)
    private let tickInterval: Double
    private let theta: Int32
    /// Commits between `engine.apply` and `record`: while any is in flight, a run must not
    /// clear the engine's pending-clustering mark.
    private let inflight = Atomic<Int>(0)

    /// Fewest writes of a goal between runs over a ``SharedMemoryEngine``.
    static let sharedMinimumThreshold = 1000

    init(engine: any MemoryEngine, theta: Int32, threshold: Int, timeout: Double, clock: any WallClock, background: Bool) {
        self.engine = engine
        shared = engine as? any SharedMemoryEngine
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

    /// Makes sure the goal's graph is loaded, from the engine's state *before* the commit about
    /// to be applied. Called by the writer before `engine.apply`.
    func ensureLoaded(goal: String) throws {
        if let shared {
            // Nothing to load; finish work a killed host left pending, once per goal.
            if loaded.withLock({ $0.insert(goal).inserted }), try engine.goalsPendingClustering().contains(goal) {
                try shared.recluster(goal: goal, theta: theta)
                runs.add(1, ordering: .relaxed)
            }
            return
        }
        // A separate set, so that the writer never waits for a clustering run holding `graphs`.
        if loaded.withLock({ $0.contains(goal) }) { return }
        let snapshot = try engine.conceptGraph(goal: goal)
        let stored = try engine.clusterAssignments(goal: goal)
        var graph = ClusterGraph()
        for (concept, cluster) in stored { graph.assumeStored(concept, cluster: cluster) }
        for c in snapshot.concepts.keys { graph.conceptAppeared(c) }
        // The graph mirrors edge existence only; the counts stay in the engine.
        for e in snapshot.edges where e.counts.co >= theta || e.counts.dep >= 1 { graph.edgeAppeared(e.a, e.b) }
        var changes = graph.settle()
        // Stored assignments of concepts no longer held (a run was cut short) are removed.
        for concept in stored.keys where snapshot.concepts[concept] == nil { changes.append((concept, nil)) }
        let wasPending = try engine.goalsPendingClustering().contains(goal)
        if !changes.isEmpty || wasPending {
            try engine.storeClusters(goal: goal, changes: changes, complete: true)
        }
        graphs.withLock { g in if g[goal] == nil { g[goal] = graph } }
        loaded.withLock { _ = $0.insert(goal) }
    }

    /// Called by the writer before it applies a commit.
    func beginCommit() { inflight.add(1, ordering: .sequentiallyConsistent) }
    /// Called by the writer after it recorded (or abandoned) a commit's changes.
    func endCommit() { inflight.subtract(1, ordering: .sequentiallyConsistent) }

    /// Queues the changes of a commit for `goal`.
    func record(goal: String, changes: [GraphChange], writes: Int) {
        let runNow: Bool = pending.withLock { p in
            // Updated in place: one hash of the goal, and the queued changes are never copied.
            add(changes, writes: writes, to: &p[goal, default: Pending()])
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
    private func add(_ changes: [GraphChange], writes: Int, to e: inout Pending) -> Bool {
        if e.changes.isEmpty { e.changes = changes } else { e.changes.append(contentsOf: changes) }
        e.writes += writes
        if e.oldest == nil { e.oldest = clock.now() }
        let due = e.writes >= threshold && !e.scheduled
        if due && background { e.scheduled = true }
        return due
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
        if shared != nil {
            // Other hosts' pending work too, so that every host reads the same clusters after
            // its flush.
            do {
                for g in try engine.goalsPendingClustering() where !goals.contains(g) {
                    pending.withLock { p in if p[g] == nil { p[g] = Pending() } }
                    goals.append(g)
                }
            } catch {
                throw MemoryError(.storage, "listing goals with clustering pending failed: \(error)")
            }
        }
        for goal in goals { run(goal: goal) }
        // A lingering worker would hold up the wait below: it goes idle at once instead.
        if background && worker.withLock({ w -> Bool in
            w.hurry = w.active
            return w.active
        }) {
            lingerWait.signal()
        }
        queue.sync {}
        if let error = lastError.withLock({ e -> MemoryError? in defer { e = nil }; return e }) { throw error }
    }

    /// Number of goals with clustering work pending.
    var pendingGoals: Int { pending.withLock { $0.values.filter { !$0.changes.isEmpty || $0.writes > 0 }.count } }

    private func run(goal: String) {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { nanos.add(DispatchTime.now().uptimeNanoseconds - start, ordering: .relaxed) }
        if let shared {
            guard pending.withLock({ $0.removeValue(forKey: goal) }) != nil else { return }
            do {
                try shared.recluster(goal: goal, theta: theta)
                runs.add(1, ordering: .relaxed)
            } catch {
                lastError.withLock { $0 = MemoryError(.storage, "clustering goal \(goal) failed: \(error)") }
            }
            return
        }
        graphs.withLock { graphs in
            guard let work = pending.withLock({ $0.removeValue(forKey: goal) }) else { return }
            // Taken out so that it is uniquely referenced and mutated in place.
            guard var graph = graphs.removeValue(forKey: goal) else { return }
            for change in work.changes {
                switch change {
                case .conceptAppeared(let c): graph.conceptAppeared(c)
                case .conceptDisappeared(let c): graph.conceptDisappeared(c)
                case .edgeAppeared(let a, let b): graph.edgeAppeared(a, b)
                case .edgeDisappeared(let a, let b): graph.edgeDisappeared(a, b)
                }
            }
            let changes = graph.settle()
            graphs[goal] = graph
            runs.add(1, ordering: .relaxed)
            let complete = inflight.load(ordering: .sequentiallyConsistent) == 0
                && pending.withLock { $0[goal] == nil }
            do {
                try engine.storeClusters(goal: goal, changes: changes, complete: complete)
            } catch {
                lastError.withLock { $0 = MemoryError(.storage, "storing clusters of goal \(goal) failed: \(error)") }
            }
        }
    }
}
