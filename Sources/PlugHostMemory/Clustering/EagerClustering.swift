import Dispatch
import Synchronization
import PlugHostCore

/// The eager baseline's clustering stage: after every write, the goal's concept graph is
/// re-read, the edges around the write re-initialised and the whole goal re-clustered
/// (``LouvainClustering``) and stored: in the engine's ``ClusteringSession`` for a local engine,
/// through ``SharedClustering`` for a shared one (chosen once, at start-up).
final class EagerClustering: Sendable {
    /// How the engine lets its clusters be stored.
    enum Access: Sendable {
        /// One process's write path clusters it (SQLite, in-memory).
        case local(any ClusteringCoordinator)
        /// Several hosts share it (PostgreSQL).
        case shared(any SharedMemoryEngine)

        /// The engine's access, or an error for an engine that offers neither.
        init(_ engine: any MemoryEngine) throws {
            if let shared = engine as? any SharedMemoryEngine {
                self = .shared(shared)
            } else if let coordinator = engine as? any ClusteringCoordinator {
                self = .local(coordinator)
            } else {
                throw MemoryError(
                    .invalid,
                    "the \(engine.kind) engine is neither a ClusteringCoordinator nor a SharedMemoryEngine: the write path cannot keep its clusters"
                )
            }
        }
    }

    private let engine: any MemoryEngine
    private let access: Access
    private let theta: Int32
    private let maxDependencyDepth: Int
    private let counters: WritePathCounters

    init(engine: any MemoryEngine, theta: Int32, maxDependencyDepth: Int, counters: WritePathCounters) throws {
        self.engine = engine
        access = try Access(engine)
        self.theta = theta
        self.maxDependencyDepth = maxDependencyDepth
        self.counters = counters
    }

    /// The eager baseline's graph work: loads the goal's concept graph, counts the edges within
    /// `maxDependencyDepth` of `concepts` (re-initialised), re-clusters the whole goal and stores
    /// every assignment. Returns the number of edges re-initialised.
    @discardableResult
    func recluster(goal: String, around concepts: [String]) throws -> Int {
        let start = DispatchTime.now().uptimeNanoseconds
        let snapshot = try engine.conceptGraph(goal: goal)
        var adjacency: [String: [String]] = [:]
        for e in snapshot.edges {
            adjacency[e.a, default: []].append(e.b)
            adjacency[e.b, default: []].append(e.a)
        }
        var seen = Set(concepts)
        var frontier = concepts
        var touched = 0
        for _ in 0..<maxDependencyDepth where !frontier.isEmpty {
            var next: [String] = []
            for c in frontier {
                for n in adjacency[c] ?? [] {
                    touched += 1
                    if seen.insert(n).inserted { next.append(n) }
                }
            }
            frontier = next
        }
        switch access {
        case .shared(let shared):
            // Several hosts: re-clustered under the engine's per-goal lock.
            try SharedClustering.recluster(shared, goal: goal, theta: theta)
        case .local(let coordinator):
            // Under the engine's write lock, from the goal as committed (another process may
            // have written since `snapshot` was read).
            try coordinator.withClusteringSession(goal: goal) { session in
                let stored = try session.read()
                let assignments = LouvainClustering.assignments(stored.graph, theta: theta)
                var changes: [(concept: String, cluster: String?)] = assignments.map { ($0.key, $0.value) }
                for c in stored.assignments.keys where assignments[c] == nil { changes.append((c, nil)) }
                try session.store(changes, through: stored.committed)
            }
        }
        let end = DispatchTime.now().uptimeNanoseconds
        counters.metrics.clusteringRun(nanos: end - start, saved: 0, savedNanos: 0)
        counters.stats.withLock {
            $0.clusteringRuns += 1
            $0.clusteringNanos += end - start
        }
        return touched
    }
}
