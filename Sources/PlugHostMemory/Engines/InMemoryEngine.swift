import Foundation
import Synchronization
import PlugHostCore

/// The in-memory engine: everything in dictionaries, nothing survives the process.
/// Used by tests, benchmarks and `--engine memory`.
///
/// Each goal interns its concept keys to dense integer ids: holder counts and the
/// by-concept index are arrays indexed by id, and edges are keyed by the two ids packed into
/// one `UInt64`, so a write hashes each of its concepts once and never hashes a pair of strings.
public final class InMemoryEngine: ClusteringCoordinator {
    public var kind: String { "memory" }

    /// A stored memory and its insertion sequence number (one dictionary for both).
    struct Record {
        var memory: Memory
        var sequence: Int
        /// Written without a caller-given id (``EngineBatch/hostAssigned``).
        var hostAssigned = false
    }

    /// A goal's memory ids by ``Memory/contentHashValue``, oldest first: one id per hash
    /// inline, more (equal memories, or a hash collision) in a side table.
    struct ContentIndex {
        private var first: [Int: String] = [:]
        private var more: [Int: [String]] = [:]

        mutating func insert(_ id: String, hash: Int) {
            if first[hash] == nil { first[hash] = id } else { more[hash, default: []].append(id) }
        }

        mutating func remove(_ id: String, hash: Int) {
            if first[hash] == id {
                if var rest = more[hash], !rest.isEmpty {
                    first[hash] = rest.removeFirst()
                    more[hash] = rest.isEmpty ? nil : rest
                } else {
                    first[hash] = nil
                }
            } else if var rest = more[hash], let k = rest.firstIndex(of: id) {
                rest.remove(at: k)
                more[hash] = rest.isEmpty ? nil : rest
            }
        }

        /// Ids with this hash, oldest first.
        func ids(_ hash: Int) -> [String] {
            guard let f = first[hash] else { return [] }
            return [f] + (more[hash] ?? [])
        }
    }

    /// The records by memory id: the dictionary maps an id to a slot of one array of records
    /// (slots of deleted records are reused). The dictionary's entries stay small, so that
    /// growing it moves 20 bytes per memory rather than the whole record, and the records
    /// themselves are never moved by a rehash.
    struct RecordStore {
        private var slotOf: [String: Int32] = [:]
        private var slots: [Record?] = []
        private var free: [Int32] = []

        subscript(id: String) -> Record? {
            get { slotOf[id].flatMap { slots[Int($0)] } }
            set {
                if let newValue {
                    let i = Self.slot(&slotOf[id, default: -1], slots: &slots, free: &free)
                    slots[Int(i)] = newValue
                } else {
                    _ = removeValue(forKey: id)
                }
            }
        }

        /// The slot in `entry`, taking a free one (or a new one) when it holds none (-1).
        private static func slot(_ entry: inout Int32, slots: inout [Record?], free: inout [Int32]) -> Int32 {
            if entry < 0 {
                if let reused = free.popLast() {
                    entry = reused
                } else {
                    slots.append(nil)
                    entry = Int32(slots.count - 1)
                }
            }
            return entry
        }

        mutating func removeValue(forKey id: String) -> Record? {
            guard let i = slotOf.removeValue(forKey: id) else { return nil }
            free.append(i)
            defer { slots[Int(i)] = nil }
            return slots[Int(i)]
        }

        /// Every stored record.
        var values: LazyMapSequence<LazyFilterSequence<LazyMapSequence<[Record?], Record?>>, Record> { slots.lazy.compactMap { $0 } }
    }

    /// One goal's state, kept in `State.goals` and mutated in place there.
    struct GoalState {
        var memoryIDs: [String] = []  // insertion order, with tombstones filtered on read
        var byPlugin: [String: [String]] = [:]
        /// Concept key → dense id, and back. Ids are never reused within a goal.
        var conceptIDs: [String: Int32] = [:]
        var conceptNames: [String] = []
        /// By concept id: holder count and newest posting.
        var conceptSlots: [ConceptSlot] = []
        /// The by-concept index: one chain per concept through this array, newest first (stale
        /// entries filtered on read). One array for all concepts, rather than one per concept:
        /// a write appends at its end instead of touching (and growing) a small array per concept.
        var postings: [Posting] = []
        var heldConcepts = 0
        /// Edge counts by `pack(id(a), id(b))`, `a` preceding `b`.
        var edges = EdgeTable()
        /// Live memories by content, for ``memoriesWithSameContent(as:)``.
        var byContent = ContentIndex()
        /// Shared with the goal's `ClusterState`.
        let pending: PendingMark
        var live = 0

        init(pending: PendingMark) { self.pending = pending }

        @inline(__always)
        mutating func intern(_ name: String) -> Int32 {
            if let id = conceptIDs[name] { return id }
            let id = Int32(conceptNames.count)
            conceptIDs[name] = id
            conceptNames.append(name)
            conceptSlots.append(ConceptSlot())
            return id
        }

        @inline(__always)
        static func pack(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b)) }

        /// Applies one batch of this goal.
        mutating func apply(_ batch: EngineBatch, records: inout RecordStore, nextSequence: inout Int, expiring: inout Int) -> BatchResult {
            for id in batch.deletes {
                if let old = records.removeValue(forKey: id) {
                    if old.memory.expiresAt != nil { expiring -= 1 }
                    byContent.remove(id, hash: old.memory.contentHashValue)
                    live -= 1
                }
            }
            // Concept ids of the batch, parallel to `batch.concepts`. The concepts of inserted
            // memories and the ends of edges are found among them by comparing strings (equal
            // strings of one batch share storage, so this is a pointer or inline-bits compare)
            // instead of being hashed again.
            let concepts = batch.concepts
            var ids: [Int32] = []
            ids.reserveCapacity(concepts.count)
            var conceptCounts: [Int32] = []
            conceptCounts.reserveCapacity(concepts.count)
            for d in concepts {
                let id = intern(d.concept)
                ids.append(id)
                let before = conceptSlots[Int(id)].count
                let n = before + d.delta
                conceptSlots[Int(id)].count = n
                if before == 0 && n != 0 { heldConcepts += 1 } else if before != 0 && n == 0 { heldConcepts -= 1 }
                conceptCounts.append(n)
            }
            let scan = concepts.count <= 16
            for (k, m) in batch.inserts.enumerated() {
                records[m.id] = Record(memory: m, sequence: nextSequence, hostAssigned: batch.isHostAssigned(k))
                byContent.insert(m.id, hash: m.contentHashValue)
                if m.expiresAt != nil { expiring += 1 }
                nextSequence += 1
                memoryIDs.append(m.id)
                byPlugin[m.plugin, default: []].append(m.id)
                for c in m.concepts { post(m.id, to: Int(id(c, concepts, ids, scan))) }
                live += 1
            }
            var edgeCounts: [EdgeCounts] = []
            edgeCounts.reserveCapacity(batch.edges.count)
            for e in batch.edges {
                let key = Self.pack(id(e.a, concepts, ids, scan), id(e.b, concepts, ids, scan))
                let after = edges.add(key, co: e.co, dep: e.dep)
                edgeCounts.append(after)
            }
            // Commits are serialised by the state lock, so versions are handed out in order.
            let version =
                !batch.concepts.isEmpty || !batch.edges.isEmpty
                ? pending.committed.add(1, ordering: .relaxed).newValue
                : pending.committed.load(ordering: .relaxed)
            // Compact the indexes once tombstones dominate.
            if memoryIDs.count > 1024 && memoryIDs.count > 2 * live {
                let goal = batch.goal
                let records = records
                let alive = { (id: String) in records[id]?.memory.goal == goal }
                memoryIDs.removeAll { !alive($0) }
                // The posting chains are rebuilt from the live memories, oldest first.
                postings.removeAll(keepingCapacity: true)
                for k in conceptSlots.indices { conceptSlots[k].head = -1 }
                for id in memoryIDs {
                    for c in records[id]!.memory.concepts { post(id, to: Int(intern(c))) }
                }
                for k in Array(byPlugin.keys) { byPlugin[k]!.removeAll { !alive($0) || records[$0]!.memory.plugin != k } }
            }
            return BatchResult(conceptCounts: conceptCounts, edgeCounts: edgeCounts, goalVersion: version)
        }

        @inline(__always)
        private mutating func post(_ memory: String, to concept: Int) {
            postings.append(Posting(id: memory, next: conceptSlots[concept].head))
            conceptSlots[concept].head = Int32(postings.count - 1)
        }

        /// Memory ids of a concept's chain, newest first.
        func chain(_ concept: Int32) -> UnfoldSequence<String, Int32> {
            sequence(state: conceptSlots[Int(concept)].head) { [postings] i in
                guard i >= 0 else { return nil }
                defer { i = postings[Int(i)].next }
                return postings[Int(i)].id
            }
        }

        /// The id of a concept of the batch: found among the batch's concepts when they are few,
        /// else (or when absent, e.g. a concept whose deltas cancelled out) interned.
        @inline(__always)
        private mutating func id(_ name: String, _ concepts: [ConceptDelta], _ ids: [Int32], _ scan: Bool) -> Int32 {
            if scan {
                for i in concepts.indices where concepts[i].concept == name { return ids[i] }
            }
            return intern(name)
        }
    }

    /// A concept's holder count and the index of its newest posting (-1: none).
    struct ConceptSlot {
        var count: Int32 = 0
        var head: Int32 = -1
    }

    /// An entry of a concept's posting chain: a memory id and the next older entry (-1: none).
    struct Posting {
        var id: String
        var next: Int32
    }

    /// A goal's pending-clustering mark: the version of its last commit, counted by `apply`
    /// (under the state lock), and the version its stored clusters cover, raised by
    /// `storeClusters` (under the cluster lock), neither waiting for the other. Clustering is
    /// pending while the first is ahead.
    final class PendingMark: Sendable {
        let committed = Atomic<Int64>(0)
        let clustered = Atomic<Int64>(0)

        var isPending: Bool { committed.load(ordering: .acquiring) > clustered.load(ordering: .acquiring) }

        /// Notes that the stored clusters cover every commit up to `version`.
        func cover(through version: Int64) {
            var current = clustered.load(ordering: .relaxed)
            while current < version {
                let (exchanged, original) = clustered.compareExchange(expected: current, desired: version, ordering: .acquiringAndReleasing)
                if exchanged { return }
                current = original
            }
        }
    }

    /// A goal's stored cluster assignments. Behind their own lock, so that a clustering run
    /// storing its results never holds up the writer's `apply`.
    struct ClusterState {
        var clusters: [String: String] = [:]
        let pending = PendingMark()
    }

    struct State {
        var records = RecordStore()
        var nextSequence = 0
        var goalIndex: [String: Int] = [:]
        var goals: [GoalState] = []
        var contexts: [String: [String: [String: String]]] = [:]  // goal → plugin → kv
        var expiring = 0  // live memories with a TTL

        func goal(_ name: String) -> GoalState? { goalIndex[name].map { goals[$0] } }
    }

    private let state = Mutex(State())
    /// Lock order: `state` before `clusterStates`, never the other way.
    private let clusterStates = Mutex<[String: ClusterState]>([:])
    private let closed = Atomic<Bool>(false)
    /// θ of the first service opened over this engine (several services may share one).
    private let storedTheta = Mutex<Int32?>(nil)

    public func theta(storingIfAbsent proposed: Int32?) throws -> Int32? {
        storedTheta.withLock { t in
            if t == nil { t = proposed }
            return t
        }
    }

    /// The index of a goal in `s.goals`, created when new.
    private func slot(_ name: String, in s: inout State) -> Int {
        if let i = s.goalIndex[name] { return i }
        let mark = clusterStates.withLock { c in
            if let existing = c[name] { return existing.pending }
            let new = ClusterState()
            c[name] = new
            return new.pending
        }
        s.goals.append(GoalState(pending: mark))
        s.goalIndex[name] = s.goals.count - 1
        return s.goals.count - 1
    }

    /// Creates an empty engine.
    public init() {}

    public func apply(_ batches: [EngineBatch]) throws -> [BatchResult] {
        guard !closed.load(ordering: .acquiring) else { throw MemoryError(.closed, "the memory engine is closed") }
        return try state.withLock { s in
            try Self.checkUniqueContent(batches, in: s)
            var results: [BatchResult] = []
            results.reserveCapacity(batches.count)
            for batch in batches {
                let i = slot(batch.goal, in: &s)
                results.append(s.goals[i].apply(batch, records: &s.records, nextSequence: &s.nextSequence, expiring: &s.expiring))
            }
            return results
        }
    }

    /// Throws ``DuplicateContentError`` (before anything is applied) when an insert with a
    /// host-assigned id has the content of a stored one that also has (and that `batches` do
    /// not delete), or of another such insert: one memory per content among those, as the
    /// durable engines' unique index keeps it. The write path never plans such a commit when
    /// it is the only writer; several services over one engine can race into one.
    private static func checkUniqueContent(_ batches: [EngineBatch], in s: State) throws {
        guard batches.contains(where: { $0.hostAssigned.contains(true) }) else { return }
        let deleted = Set(batches.flatMap(\.deletes))
        var inserted: [Int: [Memory]] = [:]
        for batch in batches {
            for (k, m) in batch.inserts.enumerated() where batch.isHostAssigned(k) {
                let hash = m.contentHashValue
                if inserted[hash]?.contains(where: { $0.hasSameContent(as: m) }) == true { throw DuplicateContentError(goal: m.goal) }
                inserted[hash, default: []].append(m)
                guard let g = s.goal(m.goal) else { continue }
                for id in g.byContent.ids(hash) where !deleted.contains(id) {
                    if let r = s.records[id], r.hostAssigned, r.memory.hasSameContent(as: m) { throw DuplicateContentError(goal: m.goal) }
                }
            }
        }
    }

    public func memoriesWithSameContent(as memories: [Memory]) throws -> [[Memory]] {
        state.withLock { s in
            memories.map { m in
                guard let g = s.goal(m.goal) else { return [] }
                return g.byContent.ids(m.contentHashValue).compactMap { id in
                    s.records[id].flatMap { $0.memory.hasSameContent(as: m) ? $0.memory : nil }
                }
            }
        }
    }

    public func memory(id: String) throws -> Memory? {
        state.withLock { $0.records[id]?.memory }
    }

    public func existingMemories(_ ids: [String]) throws -> [String: Memory] {
        state.withLock { s in
            var out: [String: Memory] = [:]
            for id in ids { if let r = s.records[id] { out[id] = r.memory } }
            return out
        }
    }

    /// Newest first from an index list that may hold stale entries (forgotten ids, or ids
    /// reused by another memory): `matches` re-checks each entry against the live memory.
    private func newest<S: Sequence<String>>(_ ids: S, limit: Int, in s: State, matches: (Memory) -> Bool) -> [Memory] {
        var out: [Memory] = []
        var seen = Set<String>()
        for id in ids {
            guard out.count < limit else { break }
            if let m = s.records[id]?.memory, matches(m), seen.insert(id).inserted { out.append(m) }
        }
        return out
    }

    public func memories(goal: String, concept: String, limit: Int) throws -> [Memory] {
        state.withLock { s in
            guard let gi = s.goalIndex[goal], let id = s.goals[gi].conceptIDs[concept] else { return [] }
            return newest(s.goals[gi].chain(id), limit: limit, in: s) { $0.goal == goal && $0.concepts.contains(concept) }
        }
    }

    public func memories(goal: String, anyOf concepts: [String], limit: Int) throws -> [Memory] {
        guard limit > 0 else { return [] }
        return state.withLock { s in
            guard let gi = s.goalIndex[goal] else { return [] }
            // Each concept's newest `limit` holders, merged by insertion sequence: a memory among
            // the newest `limit` of the union is among the newest `limit` of each concept it holds.
            var merged: [(sequence: Int, memory: Memory)] = []
            var seen = Set<String>()
            for concept in Set(concepts) {
                guard let id = s.goals[gi].conceptIDs[concept] else { continue }
                let holders = newest(s.goals[gi].chain(id), limit: limit, in: s) { $0.goal == goal && $0.concepts.contains(concept) }
                for m in holders where seen.insert(m.id).inserted {
                    merged.append((s.records[m.id]!.sequence, m))
                }
            }
            merged.sort { $0.sequence > $1.sequence }
            return merged.prefix(limit).map(\.memory)
        }
    }

    public func memories(goal: String, plugin: String, limit: Int) throws -> [Memory] {
        state.withLock { s in
            newest((s.goalIndex[goal].flatMap { s.goals[$0].byPlugin[plugin] } ?? []).reversed(), limit: limit, in: s) {
                $0.goal == goal && $0.plugin == plugin
            }
        }
    }

    public func search(goal: String, text: String, limit: Int) throws -> [RecalledMemory] {
        let terms = Set(TextTerms.terms(text))
        guard !terms.isEmpty else { return [] }
        return state.withLock { s in
            guard let g = s.goal(goal) else { return [] }
            var scored: [(RecalledMemory, Int)] = []
            var seen = Set<String>()
            for id in g.memoryIDs {
                guard let r = s.records[id], r.memory.goal == goal, seen.insert(id).inserted else { continue }
                let m = r.memory
                let words = TextTerms.terms(m.content)
                guard !words.isEmpty else { continue }
                var hits = 0
                for w in words where terms.contains(w) { hits += 1 }
                guard hits > 0 else { continue }
                let score = Double(hits) / Double(words.count).squareRoot()
                scored.append((RecalledMemory(memory: m, score: score), r.sequence))
            }
            scored.sort { $0.0.score != $1.0.score ? $0.0.score > $1.0.score : $0.1 > $1.1 }
            return scored.prefix(limit).map(\.0)
        }
    }

    public func expiredMemories(at time: Double, limit: Int) throws -> [Memory] {
        state.withLock { s in
            var out: [Memory] = []
            guard s.expiring > 0 else { return out }
            for r in s.records.values where (r.memory.expiresAt ?? .infinity) <= time {
                out.append(r.memory)
                if out.count >= limit { break }
            }
            return out
        }
    }

    /// The goal's live records after the cursor, from its insertion-order index (whose
    /// tombstones — ids forgotten, or written again further on — are skipped), sorted by
    /// sequence: each page costs the goal's index, which is fine for an engine held in memory.
    public func allMemories(goal: String, after: MemoryCursor?, limit: Int) throws -> MemoryPage {
        guard !closed.load(ordering: .acquiring) else { throw MemoryError(.closed, "the memory engine is closed") }
        guard limit > 0 else { return MemoryPage(memories: [], next: after) }
        let from = after?.sequence ?? Int64.min
        return state.withLock { s in
            guard let g = s.goal(goal) else { return MemoryPage(memories: [], next: nil) }
            var found: [Record] = []
            var seen = Set<String>()
            for id in g.memoryIDs {
                guard let r = s.records[id], r.memory.goal == goal, Int64(r.sequence) > from, seen.insert(id).inserted else { continue }
                found.append(r)
            }
            found.sort { $0.sequence < $1.sequence }
            let page = found.prefix(limit)
            let next = found.count > limit ? page.last.map { MemoryCursor(sequence: Int64($0.sequence)) } : nil
            return MemoryPage(memories: page.map(\.memory), next: next)
        }
    }

    public func conceptGraph(goal: String) throws -> ConceptGraphSnapshot {
        state.withLock { s in snapshot(goal, in: s) }
    }

    private func snapshot(_ goal: String, in s: State) -> ConceptGraphSnapshot {
        guard let g = s.goal(goal) else { return ConceptGraphSnapshot(concepts: [:], edges: []) }
        var concepts: [String: Int32] = [:]
        concepts.reserveCapacity(g.heldConcepts)
        for (i, c) in g.conceptSlots.enumerated() where c.count != 0 { concepts[g.conceptNames[i]] = c.count }
        let names = g.conceptNames
        var edges: [(a: String, b: String, counts: EdgeCounts)] = []
        edges.reserveCapacity(g.edges.count)
        g.edges.forEach { key, counts in edges.append((names[Int(key >> 32)], names[Int(key & 0xFFFF_FFFF)], counts)) }
        return ConceptGraphSnapshot(concepts: concepts, edges: edges)
    }

    public func goals() throws -> [String] {
        var names = Set(state.withLock { s in s.goalIndex.filter { s.goals[$0.value].live > 0 }.keys })
        clusterStates.withLock { c in for (goal, state) in c where !state.clusters.isEmpty { names.insert(goal) } }
        return names.sorted(by: ConceptKey.precedes)
    }

    public func clusterAssignments(goal: String) throws -> [String: String] {
        clusterStates.withLock { $0[goal]?.clusters ?? [:] }
    }

    public func storeClusters(goal: String, changes: [(concept: String, cluster: String?)], complete: Bool) throws {
        guard !closed.load(ordering: .acquiring) else { throw MemoryError(.closed, "the memory engine is closed") }
        clusterStates.withLock { c in
            // In place: a copy of the state would copy the whole assignment dictionary.
            Self.store(changes, complete: complete, into: &c[goal, default: ClusterState()])
        }
    }

    private static func store(_ changes: [(concept: String, cluster: String?)], complete: Bool, into c: inout ClusterState) {
        for (concept, cluster) in changes {
            if let cluster { c.clusters[concept] = cluster } else { c.clusters.removeValue(forKey: concept) }
        }
        if complete { c.pending.cover(through: c.pending.committed.load(ordering: .acquiring)) }
    }

    /// One process by definition, and one write path per engine: nobody else changes a goal.
    /// The session holds no lock (writers go on); ``read()`` takes the graph and its commit
    /// version under the state lock, so they agree.
    public func withClusteringSession<T>(goal: String, _ body: (any ClusteringSession) throws -> T) throws -> T {
        guard !closed.load(ordering: .acquiring) else { throw MemoryError(.closed, "the memory engine is closed") }
        return try body(Session(engine: self, goal: goal))
    }

    private struct Session: ClusteringSession {
        let engine: InMemoryEngine
        let goal: String
        var changedElsewhere: Bool { false }

        func read() throws -> StoredGoal {
            let (graph, committed) = engine.state.withLock { s in
                (engine.snapshot(goal, in: s), s.goal(goal)?.pending.committed.load(ordering: .relaxed) ?? 0)
            }
            return StoredGoal(graph: graph, assignments: try engine.clusterAssignments(goal: goal), committed: committed)
        }

        func store(_ changes: [(concept: String, cluster: String?)], through: Int64) throws {
            guard !engine.closed.load(ordering: .acquiring) else { throw MemoryError(.closed, "the memory engine is closed") }
            engine.clusterStates.withLock { c in
                InMemoryEngine.store(changes, complete: false, into: &c[goal, default: ClusterState()])
                c[goal]!.pending.cover(through: through)
            }
        }
    }

    public func goalsPendingClustering() throws -> [String] {
        clusterStates.withLock { c in c.filter { $0.value.pending.isPending }.keys.sorted(by: ConceptKey.precedes) }
    }

    public func loadContext(goal: String, plugin: String) throws -> [String: String] {
        state.withLock { $0.contexts[goal]?[plugin] ?? [:] }
    }

    public func storeContext(goal: String, plugin: String, key: String, value: String?) throws {
        guard !closed.load(ordering: .acquiring) else { throw MemoryError(.closed, "the memory engine is closed") }
        state.withLock { s in
            s.contexts[goal, default: [:]][plugin, default: [:]][key] = value
        }
    }

    /// The stored counters (``StoredCounters``), for as long as the engine lives.
    private let counterValues = Mutex<[String: Int64]>([:])

    public func addCounters(_ deltas: [String: Int64]) throws {
        guard !closed.load(ordering: .acquiring) else { throw MemoryError(.closed, "the memory engine is closed") }
        counterValues.withLock { c in
            for (name, delta) in deltas { c[name, default: 0] &+= delta }
        }
    }

    public func storedCounters() throws -> [String: Int64] {
        guard !closed.load(ordering: .acquiring) else { throw MemoryError(.closed, "the memory engine is closed") }
        return counterValues.withLock { $0 }
    }

    public func close() throws {
        closed.store(true, ordering: .releasing)
    }
}
