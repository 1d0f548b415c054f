import PlugHostCore
/// A change of one concept's holder count in a goal.
public struct ConceptDelta: Sendable, Hashable {
    /// The concept key.
    public var concept: String
    /// How many live memories more (or fewer) hold it.
    public var delta: Int32
    /// Creates a delta.
    public init(concept: String, delta: Int32) {
        self.concept = concept
        self.delta = delta
    }
}

/// A change of one edge's counts in a goal. `a` precedes `b` in UTF-8 byte order.
public struct EdgeDelta: Sendable, Hashable {
    /// The smaller concept key.
    public var a: String
    /// The larger concept key.
    public var b: String
    /// Change of `co(a,b)`: memories holding both.
    public var co: Int32
    /// Change of `dep(a,b)`: memories declaring a→b or b→a.
    public var dep: Int32
    /// Creates a delta.
    public init(a: String, b: String, co: Int32, dep: Int32) {
        self.a = a
        self.b = b
        self.co = co
        self.dep = dep
    }
}

/// One batch of the write path for one goal: memories to insert and delete and the merged
/// count changes they cause. An engine applies a list of batches in one transaction.
public struct EngineBatch: Sendable {
    /// The goal every memory of the batch belongs to.
    public var goal: String
    /// Memories to insert, in the order the batcher chose.
    public var inserts: [Memory]
    /// Ids of memories to delete (forgotten or expired).
    public var deletes: [String]
    /// Merged concept holder-count changes; each concept at most once.
    public var concepts: [ConceptDelta]
    /// Merged edge-count changes; each edge at most once.
    public var edges: [EdgeDelta]
    /// Parallel to `inserts` (empty: all false): true for a memory whose id the host assigned
    /// (a write without a caller-given id). Such a write was checked for a live memory with the
    /// same content before it was planned (``MemoryEngine/memoriesWithSameContent(as:)``); an
    /// engine that several processes write keeps at most one stored memory per content digest
    /// among these (a unique index) and throws ``DuplicateContentError`` from `apply`, storing
    /// nothing, when another process stored one meanwhile.
    public var hostAssigned: [Bool]

    /// Creates a batch.
    public init(
        goal: String, inserts: [Memory] = [], deletes: [String] = [], concepts: [ConceptDelta] = [], edges: [EdgeDelta] = [],
        hostAssigned: [Bool] = []
    ) {
        self.goal = goal
        self.inserts = inserts
        self.deletes = deletes
        self.concepts = concepts
        self.edges = edges
        self.hostAssigned = hostAssigned
    }

    /// Whether insert `i` has a host-assigned id (see ``hostAssigned``).
    @inline(__always)
    public func isHostAssigned(_ i: Int) -> Bool { i < hostAssigned.count && hostAssigned[i] }
}

/// Counts after a batch was applied, parallel to the batch's `concepts` and `edges`.
public struct BatchResult: Sendable {
    /// Holder count of each concept of the batch after it.
    public var conceptCounts: [Int32]
    /// `(co, dep)` of each edge of the batch after it.
    public var edgeCounts: [EdgeCounts]
    /// The goal's commit version after the commit (see ``ClusteringCoordinator``); 0 for
    /// engines that keep none.
    public var goalVersion: Int64
    /// Creates a result.
    public init(conceptCounts: [Int32], edgeCounts: [EdgeCounts], goalVersion: Int64 = 0) {
        self.conceptCounts = conceptCounts
        self.edgeCounts = edgeCounts
        self.goalVersion = goalVersion
    }
}

/// The two counts of an edge.
public struct EdgeCounts: Sendable, Hashable {
    /// Live memories holding both ends.
    public var co: Int32
    /// Live memories declaring a dependency between the ends.
    public var dep: Int32
    /// Creates counts.
    public init(co: Int32, dep: Int32) {
        self.co = co
        self.dep = dep
    }
}

/// A goal's concept graph as stored: held concepts with their holder counts, and edge counts.
public struct ConceptGraphSnapshot: Sendable {
    /// Concepts held by at least one live memory, with how many hold them.
    public var concepts: [String: Int32]
    /// Edges with non-zero counts; `a` precedes `b`.
    public var edges: [(a: String, b: String, counts: EdgeCounts)]
    /// Creates a snapshot.
    public init(concepts: [String: Int32], edges: [(a: String, b: String, counts: EdgeCounts)]) {
        self.concepts = concepts
        self.edges = edges
    }
}
