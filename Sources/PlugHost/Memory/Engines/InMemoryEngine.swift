import Foundation
import Synchronization

/// The in-memory engine: everything in dictionaries, nothing survives the process.
/// Used by tests, benchmarks and `--engine memory`.
public final class InMemoryEngine: MemoryEngine {
    public var kind: String { "memory" }

    struct Pair: Hashable {
        var a: String
        var b: String
    }

    struct GoalState {
        var memoryIDs: [String] = []               // insertion order, with tombstones filtered on read
        var byConcept: [String: [String]] = [:]
        var byPlugin: [String: [String]] = [:]
        var conceptCounts: [String: Int32] = [:]
        var edges: [Pair: EdgeCounts] = [:]
        var clusters: [String: String] = [:]
        var pendingClustering = false
        var live = 0
    }

    struct State {
        var memories: [String: Memory] = [:]
        var sequence: [String: Int] = [:]
        var nextSequence = 0
        var goals: [String: GoalState] = [:]
        var contexts: [String: [String: [String: String]]] = [:] // goal → plugin → kv
        var expiring = 0                                          // live memories with a TTL
        var closed = false
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
                // Take the goal out of the dictionary so it is uniquely referenced: mutating a copy
                // that the dictionary still shares would copy every index of the goal.
                var g = s.goals.removeValue(forKey: batch.goal) ?? GoalState()
                for id in batch.deletes {
                    if let old = s.memories.removeValue(forKey: id) {
                        if old.expiresAt != nil { s.expiring -= 1 }
                        s.sequence.removeValue(forKey: id)
                        g.live -= 1
                    }
                }
                for m in batch.inserts {
                    s.memories[m.id] = m
                    if m.expiresAt != nil { s.expiring += 1 }
                    s.sequence[m.id] = s.nextSequence
                    s.nextSequence += 1
                    g.memoryIDs.append(m.id)
                    g.byPlugin[m.plugin, default: []].append(m.id)
                    for c in m.concepts { g.byConcept[c, default: []].append(m.id) }
                    g.live += 1
                }
                var conceptCounts: [Int32] = []
                conceptCounts.reserveCapacity(batch.concepts.count)
                for d in batch.concepts {
                    let n = (g.conceptCounts[d.concept] ?? 0) + d.delta
                    if n == 0 { g.conceptCounts.removeValue(forKey: d.concept) } else { g.conceptCounts[d.concept] = n }
                    conceptCounts.append(n)
                }
                var edgeCounts: [EdgeCounts] = []
                edgeCounts.reserveCapacity(batch.edges.count)
                for e in batch.edges {
                    let key = Pair(a: e.a, b: e.b)
                    var c = g.edges[key] ?? EdgeCounts(co: 0, dep: 0)
                    c.co += e.co
                    c.dep += e.dep
                    if c.co == 0 && c.dep == 0 { g.edges.removeValue(forKey: key) } else { g.edges[key] = c }
                    edgeCounts.append(c)
                }
                if !batch.concepts.isEmpty || !batch.edges.isEmpty { g.pendingClustering = true }
                // Compact the indexes once tombstones dominate.
                if g.memoryIDs.count > 1024 && g.memoryIDs.count > 2 * g.live {
                    let memories = s.memories
                    let alive = { (id: String) in memories[id]?.goal == batch.goal }
                    g.memoryIDs.removeAll { !alive($0) }
                    for k in Array(g.byConcept.keys) {
                        g.byConcept[k]!.removeAll { !alive($0) || !(memories[$0]!.concepts.contains(k)) }
                        if g.byConcept[k]!.isEmpty { g.byConcept.removeValue(forKey: k) }
                    }
                    for k in Array(g.byPlugin.keys) { g.byPlugin[k]!.removeAll { !alive($0) || memories[$0]!.plugin != k } }
                }
                s.goals[batch.goal] = g
                results.append(BatchResult(conceptCounts: conceptCounts, edgeCounts: edgeCounts))
            }
            return results
        }
    }

    public func memory(id: String) throws -> Memory? {
        state.withLock { $0.memories[id] }
    }

    public func existingMemories(_ ids: [String]) throws -> [String: Memory] {
        state.withLock { s in
            var out: [String: Memory] = [:]
            for id in ids { if let m = s.memories[id] { out[id] = m } }
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
            if let m = s.memories[id], matches(m), seen.insert(id).inserted { out.append(m) }
        }
        return out
    }

    public func memories(goal: String, concept: String, limit: Int) throws -> [Memory] {
        state.withLock { s in
            newest(s.goals[goal]?.byConcept[concept], limit: limit, in: s) { $0.goal == goal && $0.concepts.contains(concept) }
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
                guard let m = s.memories[id], m.goal == goal, seen.insert(id).inserted else { continue }
                let words = TextTerms.terms(m.content)
                guard !words.isEmpty else { continue }
                var hits = 0
                for w in words where terms.contains(w) { hits += 1 }
                guard hits > 0 else { continue }
                let score = Double(hits) / Double(words.count).squareRoot()
                scored.append((RecalledMemory(memory: m, score: score), s.sequence[id] ?? 0))
            }
            scored.sort { $0.0.score != $1.0.score ? $0.0.score > $1.0.score : $0.1 > $1.1 }
            return scored.prefix(limit).map(\.0)
        }
    }

    public func expiredMemories(at time: Double, limit: Int) throws -> [Memory] {
        state.withLock { s in
            var out: [Memory] = []
            guard s.expiring > 0 else { return out }
            for m in s.memories.values where (m.expiresAt ?? .infinity) <= time {
                out.append(m)
                if out.count >= limit { break }
            }
            return out
        }
    }

    public func conceptGraph(goal: String) throws -> ConceptGraphSnapshot {
        state.withLock { s in
            guard let g = s.goals[goal] else { return ConceptGraphSnapshot(concepts: [:], edges: []) }
            return ConceptGraphSnapshot(concepts: g.conceptCounts, edges: g.edges.map { ($0.key.a, $0.key.b, $0.value) })
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
            var g = s.goals.removeValue(forKey: goal) ?? GoalState()
            for (concept, cluster) in changes {
                if let cluster { g.clusters[concept] = cluster } else { g.clusters.removeValue(forKey: concept) }
            }
            if complete { g.pendingClustering = false }
            s.goals[goal] = g
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
