import PlugHostCore
/// An engine that several hosts (processes, machines) use at once, such as PostgreSQL.
///
/// The write path treats it differently in two places:
/// - **Clustering** is not kept in a per-process graph (each host would see only its own
///   writes). The memory layer's clustering stage re-clusters the goal in full from the counts
///   stored in the engine, inside a ``SharedClusteringSession`` that the engine opens under a
///   per-goal lock, so one host at a time does it. The engine only reads and stores; it never
///   runs the clustering algorithm itself.
/// - **Goal contexts** read through the context cache are checked against
///   ``contextVersion(goal:plugin:)``, so a context written on another host is never served
///   stale from this host's cache.
public protocol SharedMemoryEngine: MemoryEngine {
    /// Runs `body` in one transaction holding the goal's clustering lock (one host at a time
    /// per goal). What `body` stores is committed when it returns; nothing is when it throws.
    /// The session notes the goal's pending changes when it begins; ``SharedClusteringSession/store(_:)``
    /// clears those (and only those: a commit arriving meanwhile stays pending).
    func withSharedClusteringSession<T>(goal: String, _ body: (any SharedClusteringSession) throws -> T) throws -> T

    /// The version of a plugin's goal context: it changes with every context write on any host.
    func contextVersion(goal: String, plugin: String) throws -> Int64
}

/// A goal inside a shared engine's clustering transaction (see ``SharedMemoryEngine``). Valid
/// only inside the closure it was handed to.
public protocol SharedClusteringSession {
    /// The goal as stored: its concept graph and stored cluster assignments. Edge rows with
    /// `co < minimumCo` and `dep == 0` may be left out (they cannot link anything at that θ;
    /// a bound on what is read, the caller still decides edges by ``EdgeRule``).
    func read(minimumCo: Int32) throws -> (graph: ConceptGraphSnapshot, assignments: [String: String])
    /// Stores assignment changes (nil removes a concept), drops count rows that fell to zero
    /// and clears the pending changes noted when the session began.
    func store(_ changes: [(concept: String, cluster: String?)]) throws
}
