import PlugHostCore

/// One goal's concept graph with its edge weights, kept up to date from each commit's
/// ``GraphChange``s, and re-clustered whole (``LouvainClustering``) when the lazy layer asks.
///
/// Concepts are interned to dense ids on first sight and kept in UTF-8 byte order (new ones
/// are sorted and merged in at the next run, not on every write); edges are a table from the
/// pair of ids to the weight `co + dep` of a present edge. A run numbers the present concepts
/// in key order, builds the level-0 graph in compressed sparse rows and reports only the
/// concepts whose cluster id changed since the previous run.
struct WeightedConceptGraph {
    private(set) var names: [String] = []
    private var ids: [String: Int32] = [:]
    private var present: [Bool] = []
    /// Present edges: `lo << 32 | hi` (ids, lo < hi) → weight (> 0).
    private var weights: [UInt64: Int64] = [:]
    /// Cluster id (a node) last reported for each node, -1 for none.
    private var clusterOf: [Int32] = []
    /// Every interned id, in UTF-8 byte order of its name, except those in `unsorted`.
    private var sorted: [Int32] = []
    private var unsorted: [Int32] = []
    /// True when something changed since the last run.
    private(set) var dirty = false

    /// Number of concepts currently present.
    private(set) var presentCount = 0
    /// Number of present edges.
    var edgeCount: Int { weights.count }

    private mutating func node(_ name: String) -> Int {
        if let id = ids[name] { return Int(id) }
        let id = names.count
        names.append(name)
        ids[name] = Int32(id)
        present.append(false)
        clusterOf.append(-1)
        unsorted.append(Int32(id))
        return id
    }

    /// The weight of the edge a–b (0 when it is not an edge).
    func weight(_ a: String, _ b: String) -> Int64 {
        guard let x = ids[a], let y = ids[b] else { return 0 }
        return weights[Self.key(Int(x), Int(y))] ?? 0
    }

    /// Whether concept `name` is held.
    func isPresent(_ name: String) -> Bool { ids[name].map { present[Int($0)] } ?? false }

    @inline(__always)
    private static func key(_ x: Int, _ y: Int) -> UInt64 {
        x < y ? UInt64(x) << 32 | UInt64(y) : UInt64(y) << 32 | UInt64(x)
    }

    /// Applies one change of a commit.
    mutating func apply(_ change: GraphChange) {
        switch change {
        case .conceptAppeared(let c): setPresent(c, true)
        case .conceptDisappeared(let c): setPresent(c, false)
        case .edgeWeight(let a, let b, let w): setWeight(a, b, w)
        }
    }

    mutating func setPresent(_ name: String, _ isPresent: Bool) {
        let n = isPresent ? node(name) : ids[name].map(Int.init) ?? -1
        guard n >= 0, present[n] != isPresent else { return }
        present[n] = isPresent
        presentCount += isPresent ? 1 : -1
        dirty = true
    }

    /// Sets the weight of edge a–b; 0 removes it.
    mutating func setWeight(_ a: String, _ b: String, _ w: Int64) {
        let x = node(a), y = node(b)
        guard x != y else { return }
        let k = Self.key(x, y)
        if w > 0 {
            if weights.updateValue(w, forKey: k) != w { dirty = true }
        } else if weights.removeValue(forKey: k) != nil {
            dirty = true
        }
    }

    /// Marks a concept's reported cluster id as already stored (used when loading a goal).
    mutating func assumeStored(_ concept: String, cluster: String) {
        let n = node(concept)
        clusterOf[n] = Int32(node(cluster))
    }

    /// Re-clusters the goal and returns every concept whose cluster id changed since the last
    /// call (nil: no longer held).
    mutating func recluster() -> [(concept: String, cluster: String?)] {
        if !unsorted.isEmpty {
            let fresh = unsorted.sorted { ConceptKey.precedes(names[Int($0)], names[Int($1)]) }
            unsorted.removeAll()
            var merged: [Int32] = []
            merged.reserveCapacity(sorted.count + fresh.count)
            var i = 0, j = 0
            while i < sorted.count && j < fresh.count {
                if ConceptKey.precedes(names[Int(fresh[j])], names[Int(sorted[i])]) {
                    merged.append(fresh[j])
                    j += 1
                } else {
                    merged.append(sorted[i])
                    i += 1
                }
            }
            merged.append(contentsOf: sorted[i...])
            merged.append(contentsOf: fresh[j...])
            sorted = merged
        }
        // Present concepts numbered in key order.
        var rank = [Int32](repeating: -1, count: names.count)
        var nodeAt: [Int32] = []
        nodeAt.reserveCapacity(presentCount)
        for id in sorted where present[Int(id)] {
            rank[Int(id)] = Int32(nodeAt.count)
            nodeAt.append(id)
        }
        var edges = LouvainClustering.EdgeList()
        edges.reserve(weights.count)
        for (k, w) in weights {
            let a = rank[Int(k >> 32)], b = rank[Int(k & 0xFFFF_FFFF)]
            guard a >= 0, b >= 0 else { continue }
            edges.append(a, b, w)
        }
        let cluster = LouvainClustering.clusters(nodeCount: nodeAt.count, edges: edges)
        var out: [(concept: String, cluster: String?)] = []
        for n in 0..<names.count {
            let r = rank[n]
            let c = r >= 0 ? nodeAt[Int(cluster[Int(r)])] : -1
            if c != clusterOf[n] {
                clusterOf[n] = c
                out.append((names[n], c >= 0 ? names[Int(c)] : nil))
            }
        }
        dirty = false
        return out
    }
}
