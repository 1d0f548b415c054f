/// The connected components of one goal's concept graph, kept up to date incrementally:
/// union of two components where an edge appears, a local search of one component where an
/// edge or a concept disappears. Never recomputes the whole goal.
struct ClusterGraph {
    private(set) var names: [String] = []
    private var ids: [String: Int] = [:]
    private var present: [Bool] = []
    private var adjacency: [Set<Int>] = []
    private var label: [Int] = []            // component of each present node, -1 when absent
    private var members: [Int: [Int]] = [:] // component → nodes
    private var minimum: [Int: Int] = [:]   // component → its smallest member (UTF-8 order)
    private var clusterOf: [Int] = []          // cluster id (a node) last reported, -1 for none
    private var dirty: Set<Int> = []           // components that may have split
    private var changed: Set<Int> = []         // nodes whose cluster id must be reported
    private var nextLabel: Int = 0

    /// Number of concepts currently present.
    private(set) var presentCount = 0

    mutating func node(_ name: String) -> Int {
        if let id = ids[name] { return id }
        let id = names.count
        names.append(name)
        ids[name] = id
        present.append(false)
        adjacency.append([])
        label.append(-1)
        clusterOf.append(-1)
        return id
    }

    func id(of name: String) -> Int? { ids[name] }

    mutating func conceptAppeared(_ name: String) {
        let n = node(name)
        guard !present[n] else { return }
        present[n] = true
        presentCount += 1
        let c = nextLabel
        nextLabel += 1
        label[n] = c
        members[c] = [n]
        minimum[c] = n
        changed.insert(n)
    }

    mutating func conceptDisappeared(_ name: String) {
        guard let n = ids[name], present[n] else { return }
        for m in adjacency[n] { edgeDisappeared(n, m) }
        present[n] = false
        presentCount -= 1
        let c = label[n]
        label[n] = -1
        members[c]?.removeAll { $0 == n }
        if members[c]?.isEmpty ?? true {
            members.removeValue(forKey: c)
            minimum.removeValue(forKey: c)
            dirty.remove(c)
        } else {
            dirty.insert(c)
        }
        changed.insert(n)
    }

    mutating func edgeAppeared(_ a: String, _ b: String) {
        let x = node(a), y = node(b)
        if !present[x] { conceptAppeared(a) }
        if !present[y] { conceptAppeared(b) }
        guard adjacency[x].insert(y).inserted else { return }
        adjacency[y].insert(x)
        union(label[x], label[y])
    }

    mutating func edgeDisappeared(_ a: String, _ b: String) {
        guard let x = ids[a], let y = ids[b] else { return }
        edgeDisappeared(x, y)
    }

    private mutating func edgeDisappeared(_ x: Int, _ y: Int) {
        guard adjacency[x].remove(y) != nil else { return }
        adjacency[y].remove(x)
        dirty.insert(label[x])
    }

    private mutating func union(_ c1: Int, _ c2: Int) {
        guard c1 != c2, let m1 = members[c1], let m2 = members[c2] else { return }
        let (keep, absorb) = m1.count >= m2.count ? (c1, c2) : (c2, c1)
        let absorbed = members.removeValue(forKey: absorb)!
        let minKeep = minimum[keep]!, minAbsorb = minimum.removeValue(forKey: absorb)!
        for n in absorbed { label[n] = keep }
        members[keep]!.append(contentsOf: absorbed)
        if dirty.remove(absorb) != nil { dirty.insert(keep) }
        if ConceptKey.precedes(names[minAbsorb], names[minKeep]) {
            minimum[keep] = minAbsorb
            for n in members[keep]! where clusterOf[n] != minAbsorb { changed.insert(n) }
        } else {
            for n in absorbed where clusterOf[n] != minKeep { changed.insert(n) }
        }
    }

    /// Splits the components that may have come apart, then returns every concept whose cluster
    /// id changed since the last call (nil: no longer held).
    mutating func settle() -> [(concept: String, cluster: String?)] {
        for c in dirty { split(c) }
        dirty.removeAll()
        var out: [(concept: String, cluster: String?)] = []
        out.reserveCapacity(changed.count)
        for n in changed {
            let i = n
            let newCluster: Int = present[i] ? minimum[label[i]]! : -1
            if newCluster != clusterOf[i] {
                clusterOf[i] = newCluster
                out.append((names[i], newCluster >= 0 ? names[newCluster] : nil))
            }
        }
        changed.removeAll(keepingCapacity: true)
        return out
    }

    private mutating func split(_ c: Int) {
        guard let nodes = members[c], nodes.count > 1 else { return }
        var seen = Set<Int>()
        seen.reserveCapacity(nodes.count)
        var pieces: [[Int]] = []
        for start in nodes where !seen.contains(start) {
            var piece: [Int] = [start]
            seen.insert(start)
            var i = 0
            while i < piece.count {
                for m in adjacency[piece[i]] where seen.insert(m).inserted { piece.append(m) }
                i += 1
            }
            pieces.append(piece)
        }
        guard pieces.count > 1 else { return }
        pieces.sort { $0.count > $1.count }
        members[c] = pieces[0]
        minimum[c] = smallest(pieces[0])
        for n in pieces[0] where clusterOf[n] != minimum[c]! { changed.insert(n) }
        for piece in pieces.dropFirst() {
            let nc = nextLabel
            nextLabel += 1
            for n in piece { label[n] = nc }
            members[nc] = piece
            let mn = smallest(piece)
            minimum[nc] = mn
            for n in piece where clusterOf[n] != mn { changed.insert(n) }
        }
    }

    private func smallest(_ nodes: [Int]) -> Int {
        var best = nodes[0]
        for n in nodes.dropFirst() where ConceptKey.precedes(names[n], names[best]) { best = n }
        return best
    }

    /// Marks a concept's reported cluster id as already stored (used when loading a goal).
    mutating func assumeStored(_ concept: String, cluster: String) {
        let n = node(concept)
        let c = node(cluster)
        clusterOf[n] = c
    }
}

/// Full (non-incremental) clustering of a graph snapshot: what the eager baseline runs after
/// every write, and what recovery checks against.
enum FullClustering {
    /// concept → cluster id for every held concept of `snapshot` under threshold `theta`.
    static func assignments(_ snapshot: ConceptGraphSnapshot, theta: Int32) -> [String: String] {
        var index: [String: Int] = [:]
        var names: [String] = []
        for c in snapshot.concepts.keys {
            index[c] = names.count
            names.append(c)
        }
        var parent = Array(0..<names.count)
        func find(_ x: Int) -> Int {
            var x = x
            while parent[x] != x {
                parent[x] = parent[parent[x]]
                x = parent[x]
            }
            return x
        }
        for e in snapshot.edges where e.counts.co >= theta || e.counts.dep >= 1 {
            guard let a = index[e.a], let b = index[e.b] else { continue }
            let ra = find(a), rb = find(b)
            if ra != rb { parent[ra] = rb }
        }
        var minOf: [Int: Int] = [:]
        for i in 0..<names.count {
            let r = find(i)
            if let m = minOf[r] {
                if ConceptKey.precedes(names[i], names[m]) { minOf[r] = i }
            } else {
                minOf[r] = i
            }
        }
        var out: [String: String] = [:]
        out.reserveCapacity(names.count)
        for i in 0..<names.count { out[names[i]] = names[minOf[find(i)]!] }
        return out
    }
}
