import PlugHostCore
/// An engine that several hosts (processes, machines) use at once, such as PostgreSQL.
///
/// The write path treats it differently in two places:
/// - **Clustering** is not kept in a per-process graph (each host would see only its own
///   writes). The lazy clustering layer calls ``recluster(goal:theta:)`` instead, which
///   re-clusters the goal from the edge counts stored in the engine, one host at a time.
/// - **Goal contexts** read through the context cache are checked against
///   ``contextVersion(goal:plugin:)``, so a context written on another host is never served
///   stale from this host's cache.
public protocol SharedMemoryEngine: MemoryEngine {
    /// Re-clusters `goal` from the stored edge counts (an edge joins two concepts when
    /// `co >= theta` or `dep >= 1`) and stores the assignments, holding a per-goal lock so that
    /// one host at a time does it. Clears the goal's pending mark unless another commit arrived
    /// meanwhile. Returns the number of edges read.
    @discardableResult
    func recluster(goal: String, theta: Int32) throws -> Int

    /// The version of a plugin's goal context: it changes with every context write on any host.
    func contextVersion(goal: String, plugin: String) throws -> Int64
}
