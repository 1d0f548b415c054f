import PlugHostCore
/// An operation waiting in the write queue, with the memory it concerns already resolved.
enum PlannedOp: Sendable {
    /// Insert a memory.
    case write(Memory)
    /// Delete a stored memory.
    case forget(Memory)

    var memory: Memory {
        switch self {
        case .write(let m), .forget(let m): m
        }
    }
}

/// A batch the batcher made: the engine batch plus how many pair operations it replaced.
struct PlannedBatch: Sendable {
    var batch: EngineBatch
    var writes: Int
    var forgets: Int
    var unbatchedEdgeOps: Int
    /// Dependency groups merged into this batch.
    var groups: Int = 1
}

/// Groups pending operations into batches of related writes and merges their count changes so
/// that each touched edge is written once per batch.
///
/// Writes of one goal that share a concept form one dependency group; since a write's concept
/// set holds both ends of each of its dependencies, writes linked by dependency chains
/// (a→b, b→c, c→d) land together too. A write that depends on a concept comes after the writes
/// that introduce it. Counts are sums, so the order never changes the counts; it decides the
/// order in which memories are stored (and so recall's newest-first order).
struct DependencyBatcher: Sendable {
    struct Pair: Hashable {
        var a: String
        var b: String
    }

    /// Plans the engine batches for `ops`, which are in arrival order: one batch per goal,
    /// holding that goal's dependency groups (writes sharing concepts, or linked by dependency
    /// chains). Groups never share a concept, so merging them into one batch merges nothing
    /// across groups: every touched edge is still written once. The goal's writes keep their
    /// arrival order except where a write depends on a concept another write introduces.
    ///
    /// **A delete always precedes the insert of the same id.** Engines apply a batch's deletes
    /// before its inserts, and batches in order; but batches go by goal, in the order each goal
    /// first appears. A forget of an id that a write of `ops` inserts again (an expired memory
    /// that the commit rewriting its id sweeps first, or a forget and a write of the same id)
    /// may be of another goal than the write, whose goal may appear first: the insert would
    /// then meet the old row (SQLite: a UNIQUE failure of the whole commit; in memory: the new
    /// memory deleted right after it was inserted, its counts left behind). Such forgets
    /// therefore go into leading batches, one per goal, before every other batch. Counts are
    /// sums, so this changes no count; the other forgets stay with their goal's batch.
    func plan(_ ops: [PlannedOp]) -> [PlannedBatch] {
        guard !ops.isEmpty else { return [] }
        if ops.count == 1 { return [single(ops[0])] }
        // Forgets are few: look for re-inserted ids only when there are some.
        var forgotten = Set<String>()
        for op in ops { if case .forget(let m) = op { forgotten.insert(m.id) } }
        if !forgotten.isEmpty {
            var reinserted = Set<String>()
            for op in ops { if case .write(let m) = op, forgotten.contains(m.id) { reinserted.insert(m.id) } }
            if !reinserted.isEmpty {
                func leads(_ op: PlannedOp) -> Bool {
                    if case .forget(let m) = op { return reinserted.contains(m.id) }
                    return false
                }
                return planByGoal(ops.filter(leads)) + planByGoal(ops.filter { !leads($0) })
            }
        }
        return planByGoal(ops)
    }

    /// One batch per goal of `ops`, goals in order of first appearance.
    private func planByGoal(_ ops: [PlannedOp]) -> [PlannedBatch] {
        guard !ops.isEmpty else { return [] }
        if ops.count == 1 { return [single(ops[0])] }
        var byGoal: [String: [PlannedOp]] = [:]
        var order: [String] = []
        for op in ops {
            let g = op.memory.goal
            if byGoal[g] == nil { order.append(g) }
            byGoal[g, default: []].append(op)
        }
        return order.map { g in
            let goalOps = byGoal[g]!
            var batch = makeBatch(goalOps)
            batch.groups = dependencyGroups(goalOps)
            return batch
        }
    }

    /// Number of dependency groups among operations of one goal: union-find over shared concepts.
    func dependencyGroups(_ ops: [PlannedOp]) -> Int {
        var parent = Array(0..<ops.count)
        func find(_ x: Int) -> Int {
            var x = x
            while parent[x] != x {
                parent[x] = parent[parent[x]]
                x = parent[x]
            }
            return x
        }
        var owner: [String: Int] = [:]
        var groups = ops.count
        for (i, op) in ops.enumerated() {
            for c in op.memory.concepts {
                if let j = owner[c] {
                    let ri = find(i), rj = find(j)
                    if ri != rj {
                        parent[ri] = rj
                        groups -= 1
                    }
                } else {
                    owner[c] = i
                }
            }
        }
        return groups
    }

    /// The batch of one operation, without the merging dictionaries: its concepts are unique
    /// and sorted, so its pairs are unique too; a dependency marks its pair.
    func single(_ op: PlannedOp) -> PlannedBatch {
        let m = op.memory
        let sign: Int32
        switch op {
        case .write: sign = 1
        case .forget: sign = -1
        }
        let cs = m.concepts
        let k = cs.count
        var edges: [EdgeDelta] = []
        edges.reserveCapacity(k * (k - 1) / 2)
        if k > 1 {
            for i in 0..<(k - 1) {
                for j in (i + 1)..<k { edges.append(EdgeDelta(a: cs[i], b: cs[j], co: sign, dep: 0)) }
            }
        }
        // Index of pair (i, j), i < j, in the order above.
        func pairIndex(_ i: Int, _ j: Int) -> Int { i * (2 * k - i - 1) / 2 + (j - i - 1) }
        for d in m.dependsOn {
            guard let x = cs.firstIndex(of: d.from), let y = cs.firstIndex(of: d.to), x != y else { continue }
            let idx = pairIndex(min(x, y), max(x, y))
            edges[idx].dep = sign  // dependencies are unique per memory, and each pair counts once
        }
        var batch = EngineBatch(goal: m.goal)
        batch.concepts = cs.map { ConceptDelta(concept: $0, delta: sign) }
        batch.edges = edges
        switch op {
        case .write: batch.inserts = [m]
        case .forget: batch.deletes = [m.id]
        }
        return PlannedBatch(
            batch: batch, writes: sign > 0 ? 1 : 0, forgets: sign < 0 ? 1 : 0, unbatchedEdgeOps: edges.count)
    }

    private func makeBatch(_ ops: [PlannedOp]) -> PlannedBatch {
        let ordered = ops.count > 1 ? dependencyOrder(ops) : ops
        var inserts: [Memory] = []
        var deletes: [String] = []
        var conceptIndex: [String: Int] = [:]
        var concepts: [ConceptDelta] = []
        var edgeIndex: [Pair: Int] = [:]
        var edges: [EdgeDelta] = []
        var unbatched = 0
        var writes = 0, forgets = 0
        for op in ordered {
            let m = op.memory
            let sign: Int32
            switch op {
            case .write:
                inserts.append(m)
                sign = 1
                writes += 1
            case .forget:
                deletes.append(m.id)
                sign = -1
                forgets += 1
            }
            for c in m.concepts {
                if let i = conceptIndex[c] {
                    concepts[i].delta += sign
                } else {
                    conceptIndex[c] = concepts.count
                    concepts.append(ConceptDelta(concept: c, delta: sign))
                }
            }
            // m.concepts is sorted, so (concepts[i], concepts[j]) with i < j is (smaller, larger).
            let cs = m.concepts
            if cs.count > 1 {
                for i in 0..<(cs.count - 1) {
                    for j in (i + 1)..<cs.count {
                        let key = Pair(a: cs[i], b: cs[j])
                        if let k = edgeIndex[key] {
                            edges[k].co += sign
                        } else {
                            edgeIndex[key] = edges.count
                            edges.append(EdgeDelta(a: cs[i], b: cs[j], co: sign, dep: 0))
                        }
                        unbatched += 1
                    }
                }
            }
            var depPairs = Set<Pair>()
            for d in m.dependsOn {
                let key = ConceptKey.precedes(d.from, d.to) ? Pair(a: d.from, b: d.to) : Pair(a: d.to, b: d.from)
                guard depPairs.insert(key).inserted else { continue }
                if let k = edgeIndex[key] {
                    edges[k].dep += sign
                } else {
                    edgeIndex[key] = edges.count
                    edges.append(EdgeDelta(a: key.a, b: key.b, co: 0, dep: sign))
                }
            }
        }
        concepts.removeAll { $0.delta == 0 }
        edges.removeAll { $0.co == 0 && $0.dep == 0 }
        let goal = ops[0].memory.goal
        return PlannedBatch(
            batch: EngineBatch(goal: goal, inserts: inserts, deletes: deletes, concepts: concepts, edges: edges),
            writes: writes, forgets: forgets, unbatchedEdgeOps: unbatched)
    }

    /// Stable topological order: a write that depends on concept c comes after the writes that
    /// hold c without depending on it. Cycles keep arrival order.
    private func dependencyOrder(_ ops: [PlannedOp]) -> [PlannedOp] {
        var introducers: [String: [Int]] = [:]
        var needs: [[String]] = Array(repeating: [], count: ops.count)
        for (i, op) in ops.enumerated() {
            let m = op.memory
            let dependsOn = Set(m.dependsOn.map(\.to))
            needs[i] = Array(dependsOn)
            for c in m.concepts where !dependsOn.contains(c) { introducers[c, default: []].append(i) }
        }
        guard needs.contains(where: { !$0.isEmpty }) else { return ops }
        var indegree = Array(repeating: 0, count: ops.count)
        var after: [[Int]] = Array(repeating: [], count: ops.count)
        for i in 0..<ops.count {
            for c in needs[i] {
                for j in introducers[c] ?? [] where j != i {
                    after[j].append(i)
                    indegree[i] += 1
                }
            }
        }
        // Kahn's algorithm, seeded in arrival order.
        var result: [PlannedOp] = []
        result.reserveCapacity(ops.count)
        var done = Array(repeating: false, count: ops.count)
        var ready = (0..<ops.count).filter { indegree[$0] == 0 }
        var head = 0
        while head < ready.count {
            let i = ready[head]
            head += 1
            done[i] = true
            result.append(ops[i])
            for k in after[i] {
                indegree[k] -= 1
                if indegree[k] == 0 { ready.append(k) }
            }
        }
        for i in 0..<ops.count where !done[i] { result.append(ops[i]) }
        return result
    }
}
