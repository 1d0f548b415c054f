import PlugHostCore
/// A pluggable memory engine: where memories, concept-edge counts, cluster assignments and
/// plugin goal contexts are stored.
///
/// The protocol is batch-oriented so that a networked engine makes one round trip per commit.
/// Its methods are synchronous and may block: the write path calls them from the committing
/// writer's thread (never from Swift's cooperative pool), which is how a networked engine
/// built on event-loop futures waits for its replies. Implementations must be thread-safe.
public protocol MemoryEngine: AnyObject, Sendable {
    /// A short name for stats and errors ("memory", "sqlite", …).
    var kind: String { get }
    /// Where the engine keeps its data, for messages (a file path); nil when it has no place
    /// to name (in memory) or naming it could leak a secret.
    var location: String? { get }

    /// Applies `batches` atomically, in order: inserts and deletes memories and adds the count
    /// deltas; marks the goals as having clustering work pending. Returns the counts after.
    func apply(_ batches: [EngineBatch]) throws -> [BatchResult]

    /// The memory with this id, or nil.
    func memory(id: String) throws -> Memory?
    /// The stored memories among `ids`, by id (one round trip for a whole commit).
    func existingMemories(_ ids: [String]) throws -> [String: Memory]
    /// For each of `memories`, the stored memories with the same content
    /// (``Memory/hasSameContent(as:)``: goal, plugin, content, concept set, dependencies,
    /// canonical metadata), expired ones included, oldest first. The write path asks it for
    /// the writes without a caller-given id of a commit (one round trip), which return a live
    /// match's id instead of being stored.
    func memoriesWithSameContent(as memories: [Memory]) throws -> [[Memory]]
    /// Memories of a goal holding a concept key, newest first.
    func memories(goal: String, concept: String, limit: Int) throws -> [Memory]
    /// Memories of a goal whose concept set holds any of `concepts`, newest first (insertion
    /// order, as ``memories(goal:concept:limit:)``), each once, at most `limit` of them: the
    /// limit applies after the merge. Recall by cluster uses it.
    func memories(goal: String, anyOf concepts: [String], limit: Int) throws -> [Memory]
    /// Memories of a goal written by a plugin, newest first.
    func memories(goal: String, plugin: String, limit: Int) throws -> [Memory]
    /// Memories of a goal matching text, best first, with scores.
    func search(goal: String, text: String, limit: Int) throws -> [RecalledMemory]
    /// Memories whose expiry is at or before `time` (seconds since 1970).
    func expiredMemories(at time: Double, limit: Int) throws -> [Memory]
    /// Every stored memory of `goal`, in creation (insertion) order, a page of at most `limit`
    /// at a time: the first page with `after` nil, the next with the previous page's `next`.
    /// Memories whose TTL ran out but that were not swept yet are included (the caller
    /// decides). Each page is read at once; a memory written or forgotten between two pages
    /// may or may not be in the listing (pages are not one snapshot). Used by
    /// `plughost memory export`.
    func allMemories(goal: String, after: MemoryCursor?, limit: Int) throws -> MemoryPage

    /// A goal's stored concept graph.
    func conceptGraph(goal: String) throws -> ConceptGraphSnapshot
    /// Every goal with live memories or stored clusters, sorted.
    func goals() throws -> [String]

    /// Stored cluster assignments of a goal: concept key → cluster id.
    func clusterAssignments(goal: String) throws -> [String: String]
    /// Updates cluster assignments (nil removes a concept) and, when `complete`, clears the
    /// goal's pending-clustering mark. The write path does not use it: it stores clusters in a
    /// ``ClusteringSession`` (which clears the mark only when the clusters cover the goal's last
    /// commit) or a ``SharedClusteringSession``; this is for tools and
    /// tests that own the engine alone.
    func storeClusters(goal: String, changes: [(concept: String, cluster: String?)], complete: Bool) throws
    /// Goals whose clustering work was pending when last stored (e.g. a process was killed).
    func goalsPendingClustering() throws -> [String]

    /// θ stored with the memory (``MemoryConfiguration/theta``). When none is stored yet and
    /// `proposed` is given, stores it (atomically: of several first openers, one wins) and
    /// returns the stored value; nil when none is stored and none proposed, or when the engine
    /// stores none.
    func theta(storingIfAbsent proposed: Int32?) throws -> Int32?
    /// Loads a plugin's context for a goal.
    func loadContext(goal: String, plugin: String) throws -> [String: String]
    /// Stores (or with nil removes) one key of a plugin's context for a goal; durable on return.
    func storeContext(goal: String, plugin: String, key: String, value: String?) throws

    /// Adds `deltas` (name → amount) to the counters stored with the memory, creating the
    /// missing ones at 0 first, in one transaction: processes sharing the memory add up, never
    /// overwrite (``StoredCounters``).
    func addCounters(_ deltas: [String: Int64]) throws
    /// The counters stored with the memory, name → value (empty when none were added).
    func storedCounters() throws -> [String: Int64]
    /// How many memories of `goal` are live at `time` (seconds since 1970): stored and not
    /// expired. `plughost stats` shows it.
    func memoryCount(goal: String, at time: Double) throws -> Int
    /// Bytes the engine's data takes where it is stored (the SQLite file and its WAL, the
    /// PostgreSQL tables), or nil when it has no such place (in memory).
    func storageSize() throws -> Int64?

    /// Closes the engine. Later calls fail.
    func close() throws
}

extension MemoryEngine {
    /// Default: one `memory(id:)` per id.
    public func existingMemories(_ ids: [String]) throws -> [String: Memory] {
        var out: [String: Memory] = [:]
        for id in ids { if let m = try memory(id: id) { out[id] = m } }
        return out
    }
}

extension MemoryEngine {
    /// Default (for engines without a content index): the memories of the same goal and
    /// plugin, compared one by one. Exact, but reads all of them.
    public func memoriesWithSameContent(as memories: [Memory]) throws -> [[Memory]] {
        try memories.map { m in
            try self.memories(goal: m.goal, plugin: m.plugin, limit: .max).reversed().filter { $0.hasSameContent(as: m) }
        }
    }
}

extension MemoryEngine {
    /// Default: the engine stores no θ.
    public func theta(storingIfAbsent proposed: Int32?) throws -> Int32? { nil }
}

extension MemoryEngine {
    /// Default: the goal's memories counted page by page (``allMemories(goal:after:limit:)``).
    public func memoryCount(goal: String, at time: Double) throws -> Int {
        var count = 0
        var after: MemoryCursor? = nil
        repeat {
            let page = try allMemories(goal: goal, after: after, limit: 1000)
            count += page.memories.count { ($0.expiresAt ?? .infinity) > time }
            after = page.next
        } while after != nil
        return count
    }

    /// Default: nil, no place to measure.
    public func storageSize() throws -> Int64? { nil }
}

extension MemoryEngine {
    /// Nil: no place to name.
    public var location: String? { nil }
}
