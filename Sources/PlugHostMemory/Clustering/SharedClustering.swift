import PlugHostCore
/// Clustering of a ``SharedMemoryEngine`` (several hosts writing one memory): no per-process
/// graph; a run re-clusters the goal in full from the counts stored in the engine, inside the
/// engine's ``SharedClusteringSession`` (its per-goal lock), so one host at a time does it and
/// every host reads the same clusters. The engine only reads and stores; the algorithm
/// (``LouvainClustering``, with ``EdgeRule``) is the memory layer's.
enum SharedClustering {
    /// Re-clusters `goal` and stores the assignments that changed. Returns the number of edge
    /// rows read.
    @discardableResult
    static func recluster(_ engine: any SharedMemoryEngine, goal: String, theta: Int32) throws -> Int {
        try engine.withSharedClusteringSession(goal: goal) { session in
            // Rows with co < θ and no dependency are not edges, so they weigh nothing in the
            // model: not read. Every present edge is read with its full counts (co + dep).
            let stored = try session.read(minimumCo: theta)
            let assignments = LouvainClustering.assignments(stored.graph, theta: theta)
            var changes: [(concept: String, cluster: String?)] = []
            for (k, v) in assignments where stored.assignments[k] != v { changes.append((k, v)) }
            for k in stored.assignments.keys where assignments[k] == nil { changes.append((k, nil)) }
            try session.store(changes)
            return stored.graph.edges.count
        }
    }
}
