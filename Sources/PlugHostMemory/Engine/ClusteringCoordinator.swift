import PlugHostCore
/// An engine whose cluster assignments one process's write path keeps up to date from its own
/// in-memory graph, while other processes may write the same store (SQLite: several
/// `plughost` processes on one file).
///
/// Every goal has a **version** in the engine that grows with every transaction changing the
/// goal (commits and stored clusters), by any process. A clustering run happens inside a
/// ``ClusteringSession``: one transaction holding the engine's write lock, in which the engine
/// tells whether anyone else changed the goal since this engine's own last transaction on it.
/// When nobody did, the caller's incremental graph is exact and only its changes are stored;
/// when somebody did, the caller re-reads the goal inside the session (the latest committed
/// state, which nobody can change before the session ends) and re-clusters it in full.
///
/// Commit versions come back in ``BatchResult/goalVersion`` so that, after such a re-read,
/// changes of commits the re-read already covered are not applied twice.
public protocol ClusteringCoordinator: MemoryEngine {
    /// Runs `body` in one transaction holding the engine's write lock for `goal`'s clustering.
    /// What `body` stores is committed when it returns; nothing is when it throws.
    func withClusteringSession<T>(goal: String, _ body: (any ClusteringSession) throws -> T) throws -> T
}

/// A goal inside a clustering transaction (see ``ClusteringCoordinator``). Valid only inside
/// the closure it was handed to.
public protocol ClusteringSession {
    /// True when a transaction not of this engine instance (another process) changed the goal
    /// since this instance's last transaction on it, or when this instance has not seen the
    /// goal yet: a graph kept from this instance's own commits is out of date and must be
    /// re-read with ``read()``.
    var changedElsewhere: Bool { get }
    /// The goal as committed now: its concept graph, stored assignments, and the version of
    /// the last commit the graph includes.
    func read() throws -> StoredGoal
    /// Stores assignment changes (nil removes a concept) that, applied to the stored ones,
    /// give the clusters of the goal as of commit version `through`. The goal's
    /// pending-clustering mark is cleared when no later commit exists.
    func store(_ changes: [(concept: String, cluster: String?)], through: Int64) throws
}

/// A goal's stored state, read inside a ``ClusteringSession``.
public struct StoredGoal: Sendable {
    /// The concept graph.
    public var graph: ConceptGraphSnapshot
    /// Stored cluster assignments: concept key → cluster id.
    public var assignments: [String: String]
    /// The version of the last commit of the goal (0 when none).
    public var committed: Int64

    /// Creates a stored goal.
    public init(graph: ConceptGraphSnapshot, assignments: [String: String], committed: Int64) {
        self.graph = graph
        self.assignments = assignments
        self.committed = committed
    }
}
