import Foundation
import Synchronization

/// The in-memory engine: everything in dictionaries, nothing survives the process.
/// Used by tests, benchmarks and `--engine memory`.
///
/// Each goal interns its concept keys to dense integer ids: holder counts and the
/// by-concept index are arrays indexed by id, and edges are keyed by the two ids packed into
/// one `UInt64`, so a write hashes each of its concepts once and never hashes a pair of strings.
public final class InMemoryEngine: MemoryEngine {
    public var kind: String { "memory" }

    /// A stored memory and its insertion sequence number (one dictionary for both).
    struct Record {
        var memory: Memory
        var sequence: Int
    }

    /// One goal's state. A class so that it is mutated in place in `State.goals` (no
    /// copy-on-write, no take-out-and-put-back); only ever touched under the engine's lock.
    final class GoalState {
        var memoryIDs: [String] = []               // insertion order, with tombstones filtered on read
        var byPlugin: [String: [String]] = [:]
        /// Concept key → dense id, and back. Ids are never reused within a goal.
        var conceptIDs: [String: Int32] = [:]
        var conceptNames: [String] = []
        /// By concept id: memory ids holding it (stale entries filtered on read) and holder count.
        var byConcept: [[String]] = []
        var conceptCounts: [Int32] = []
        var heldConcepts = 0
        /// Edge counts by `pack(id(a), id(b))`, `a` preceding `b`.
        var edges: [UInt64: EdgeCounts] = [:]
        var clusters: [String: String] = [:]
        var pendingClustering = false
        var live = 0

        @inline(__always)
        func intern(_ name: String) -> Int32 {
            if let id = conceptIDs[name] { return id }
            let id = Int32(conceptNames.count)
            conceptIDs[name] = id
            conceptNames.append(name)
            byConcept.append([])
            conceptCounts.append(0)
            return id
        }

        @inline(__always)
        static func pack(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b)) }
    }

    struct State {
        var records: [String: Record] = [:]
        var nextSequence = 0
        var goals: [String: GoalState] = [:]
        var contexts: [String: [String: [String: String]]] = [:] // goal → plugin → kv
        var expiring = 0                                          // live memories with a TTL
        var closed = false

        mutating func goal(_ name: String) -> GoalState {
            if let g = goals[name] { return g }
            let g = GoalState()
            goals[name] = g
            return g
        }
    }

    private let state = Mutex(State())

    /// Creates an empty engine.
    public init() {}

    public func apply(_ batches: [EngineBatch]) throws -> [BatchResult] {
        try state.withLock { s in
            guard !s.closed else { throw MemoryError(.closed, "the memory engine is closed") }
            var results: [BatchResult] = []
            results.reserveCapacity(batches.count)
            for batch in batches {
                let g = s.goal(batch.goal)
                for id in batch.deletes {
                    if let old = s.records.removeValue(forKey: id) {
                        if old.memory.expiresAt != nil { s.expiring -= 1 }
                        g.live -= 1
                    }
                }
                for m in batch.inserts {
                    s.records[m.id] = Record(memory: m, sequence: s.nextSequence)
                    if m.expiresAt != nil { s.expiring += 1 }
                    s.nextSequence += 1
                    g.memoryIDs.append(m.id)
                    g.byPlugin[m.plugin, default: []].append(m.id)
                    for c in m.concepts { g.byConcept[Int(g.intern(c))].append(m.id) }
                    g.live += 1
                }
                // Concept ids of the batch, parallel to `batch.concepts`; edge ends are found
                // among them by comparing strings (equal strings of one batch share storage, so
                // this is a pointer or inline-bits compare) rather than hashed again.
                let concepts = batch.concepts
                var ids: [Int32] = []
                ids.reserveCapacity(concepts.count)
                var conceptCounts: [Int32] = []
                conceptCounts.reserveCapacity(concepts.count)
                for d in concepts {
                    let id = g.intern(d.concept)
                    ids.append(id)
                    let before = g.conceptCounts[Int(id)]
                    let n = before + d.delta
                    g.conceptCounts[Int(id)] = n
                    if before == 0 && n != 0 { g.heldConcepts += 1 } else if before != 0 && n == 0 { g.heldConcepts -= 1 }
                    conceptCounts.append(n)
                }
                @inline(__always)
                func id(_ name: String) -> Int32 {
                    if concepts.count <= 16 {
                        for i in concepts.indices where concepts[i].concept == name { return ids[i] }
                    }
                    return g.intern(name)
                }
                var edgeCounts: [EdgeCounts] = []
                edgeCounts.reserveCapacity(batch.edges.count)
                for e in batch.edges {
                    let key = GoalState.pack(id(e.a), id(e.b))
                    // One look-up that inserts when absent; a second only to remove a zeroed edge.
                    let after = add(e, to: &g.edges[key, default: EdgeCounts(co: 0, dep: 0)])
                    if after.co == 0 && after.dep == 0 { g.edges.removeValue(forKey: key) }
                    edgeCounts.append(after)
                }
                if !batch.concepts.isEmpty || !batch.edges.isEmpty { g.pendingClustering = true }
                // Compact the indexes once tombstones dominate.
                if g.memoryIDs.count > 1024 && g.memoryIDs.count > 2 * g.live {
                    let records = s.records
                    let goal = batch.goal
                    let alive = { (id: String) in records[id]?.memory.goal == goal }
                    g.memoryIDs.removeAll { !alive($0) }
                    for k in g.byConcept.indices where !g.byConcept[k].isEmpty {
                        let name = g.conceptNames[k]
                        g.byConcept[k].removeAll { !alive($0) || !(records[$0]!.memory.concepts.contains(name)) }
                    }
                    for k in Array(g.byPlugin.keys) { g.byPlugin[k]!.removeAll { !alive($0) || records[$0]!.memory.plugin != k } }
                }
                results.append(BatchResult(conceptCounts: conceptCounts, edgeCounts: edgeCounts))
            }
            return results
        }
    }

    @inline(__always)
    private func add(_ e: EdgeDelta, to c: inout EdgeCounts) -> EdgeCounts {
        c.co += e.co
        c.dep += e.dep
        return c
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
    private func newest(_ ids: [String]?, limit: Int, in s: State, matches: (Memory) -> Bool) -> [Memory] {
        guard let ids else { return [] }
        var out: [Memory] = []
        var seen = Set<String>()
        for id in ids.reversed() {
            guard out.count < limit else { break }
            if let m = s.records[id]?.memory, matches(m), seen.insert(id).inserted { out.append(m) }
        }
        return out
    }

    public func memories(goal: String, concept: String, limit: Int) throws -> [Memory] {
        state.withLock { s in
            guard let g = s.goals[goal], let id = g.conceptIDs[concept] else { return [] }
            return newest(g.byConcept[Int(id)], limit: limit, in: s) { $0.goal == goal && $0.concepts.contains(concept) }
        }
    }

    public func memories(goal: String, plugin: String, limit: Int) throws -> [Memory] {
        state.withLock { s in
            newest(s.goals[goal]?.byPlugin[plugin], limit: limit, in: s) { $0.goal == goal && $0.plugin == plugin }
        }
    }

    public func search(goal: String, text: String, limit: Int) throws -> [RecalledMemory] {
        let terms = Set(TextTerms.terms(text))
        guard !terms.isEmpty else { return [] }
        return state.withLock { s in
            guard let g = s.goals[goal] else { return [] }
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

    public func conceptGraph(goal: String) throws -> ConceptGraphSnapshot {
        state.withLock { s in
            guard let g = s.goals[goal] else { return ConceptGraphSnapshot(concepts: [:], edges: []) }
            var concepts: [String: Int32] = [:]
            concepts.reserveCapacity(g.heldConcepts)
            for (i, n) in g.conceptCounts.enumerated() where n != 0 { concepts[g.conceptNames[i]] = n }
            let names = g.conceptNames
            let edges = g.edges.map { (key, counts) in
                (a: names[Int(key >> 32)], b: names[Int(key & 0xFFFF_FFFF)], counts: counts)
            }
            return ConceptGraphSnapshot(concepts: concepts, edges: edges)
        }
    }

    public func goals() throws -> [String] {
        state.withLock { s in
            s.goals.filter { $0.value.live > 0 || !$0.value.clusters.isEmpty }.keys.sorted(by: ConceptKey.precedes)
        }
    }

    public func clusterAssignments(goal: String) throws -> [String: String] {
        state.withLock { $0.goals[goal]?.clusters ?? [:] }
    }

    public func storeClusters(goal: String, changes: [(concept: String, cluster: String?)], complete: Bool) throws {
        try state.withLock { s in
            guard !s.closed else { throw MemoryError(.closed, "the memory engine is closed") }
            let g = s.goal(goal)
            for (concept, cluster) in changes {
                if let cluster { g.clusters[concept] = cluster } else { g.clusters.removeValue(forKey: concept) }
            }
            if complete { g.pendingClustering = false }
        }
    }

    public func goalsPendingClustering() throws -> [String] {
        state.withLock { s in s.goals.filter(\.value.pendingClustering).keys.sorted(by: ConceptKey.precedes) }
    }

    public func loadContext(goal: String, plugin: String) throws -> [String: String] {
        state.withLock { $0.contexts[goal]?[plugin] ?? [:] }
    }

    public func storeContext(goal: String, plugin: String, key: String, value: String?) throws {
        try state.withLock { s in
            guard !s.closed else { throw MemoryError(.closed, "the memory engine is closed") }
            s.contexts[goal, default: [:]][plugin, default: [:]][key] = value
        }
    }

    public func close() throws {
        state.withLock { $0.closed = true }
    }
}
