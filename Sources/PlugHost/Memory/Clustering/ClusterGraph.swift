/// The connected components of one goal's concept graph, kept up to date incrementally:
/// a union of two components where an edge appears; where an edge disappears, a search from
/// both of its ends at once that stops as soon as they meet (still connected) or as soon as the
/// smaller side is exhausted (that side splits off). Never recomputes the whole goal.
struct ClusterGraph {
    private(set) var names: [String] = []
    private var ids: [String: Int] = [:]
    private var present: [Bool] = []
    private var adjacency: [Set<Int>] = []
    private var label: [Int] = []             // component of each present node, -1 when absent
    private var members: [Int: Set<Int>] = [:] // component → nodes
    private var minimum: [Int: Int] = [:]      // component → its smallest member (UTF-8 order)
    private var clusterOf: [Int] = []          // cluster id (a node) last reported, -1 for none
    private var changed: Set<Int> = []         // nodes whose cluster id must be checked
    private var nextLabel = 0
    // Scratch space for the two-sided search, reused between searches.
    private var mark: [UInt32] = []
    private var epoch: UInt32 = 0

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
        mark.append(0)
        return id
    }

    func id(of name: String) -> Int? { ids[name] }

    private mutating func newComponent(_ nodes: Set<Int>) -> Int {
        let c = nextLabel
        nextLabel += 1
        for n in nodes { label[n] = c }
        members[c] = nodes
        minimum[c] = smallest(nodes)
        return c
    }

    mutating func conceptAppeared(_ name: String) {
        let n = node(name)
        guard !present[n] else { return }
        present[n] = true
        presentCount += 1
        _ = newComponent([n])
        changed.insert(n)
    }

    mutating func conceptDisappeared(_ name: String) {
        guard let n = ids[name], present[n] else { return }
        for m in adjacency[n] { edgeDisappeared(n, m) }
        present[n] = false
        presentCount -= 1
        let c = label[n]
        label[n] = -1
        members[c]?.remove(n)
        if members[c]?.isEmpty ?? true {
            members.removeValue(forKey: c)
            minimum.removeValue(forKey: c)
        } else if minimum[c] == n {
            minimum[c] = smallest(members[c]!)
            for m in members[c]! { changed.insert(m) }
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
        if let side = separatedSide(x, y) { split(off: side, from: label[x]) }
    }

    private mutating func union(_ c1: Int, _ c2: Int) {
        guard c1 != c2, let m1 = members[c1], let m2 = members[c2] else { return }
        let (keep, absorb) = m1.count >= m2.count ? (c1, c2) : (c2, c1)
        let absorbed = members.removeValue(forKey: absorb)!
        let minKeep = minimum[keep]!, minAbsorb = minimum.removeValue(forKey: absorb)!
        for n in absorbed { label[n] = keep }
        members[keep]!.formUnion(absorbed)
        if ConceptKey.precedes(names[minAbsorb], names[minKeep]) {
            minimum[keep] = minAbsorb
            for n in members[keep]! where clusterOf[n] != minAbsorb { changed.insert(n) }
        } else {
            for n in absorbed where clusterOf[n] != minKeep { changed.insert(n) }
        }
    }

    /// After the edge x–y was removed: nil when x and y are still connected, else the nodes of
    /// the smaller side. Searches from both ends, always growing the smaller side.
    private mutating func separatedSide(_ x: Int, _ y: Int) -> Set<Int>? {
        epoch &+= 2
        if epoch < 2 {  // wrapped: clear the marks
            for i in mark.indices { mark[i] = 0 }
            epoch = 2
        }
        let markX = epoch, markY = epoch &+ 1
        var sideX = [x], sideY = [y]
        var headX = 0, headY = 0
        mark[x] = markX
        mark[y] = markY
        while true {
            let growX = sideX.count - headX > 0 && (sideX.count <= sideY.count || sideY.count - headY == 0)
            if !growX && sideY.count - headY == 0 { break }
            if growX {
                let n = sideX[headX]
                headX += 1
                for m in adjacency[n] {
                    if mark[m] == markY { return nil }
                    if mark[m] != markX {
                        mark[m] = markX
                        sideX.append(m)
                    }
                }
                if headX == sideX.count { return Set(sideX) }
            } else {
                let n = sideY[headY]
                headY += 1
                for m in adjacency[n] {
                    if mark[m] == markX { return nil }
                    if mark[m] != markY {
                        mark[m] = markY
                        sideY.append(m)
                    }
                }
                if headY == sideY.count { return Set(sideY) }
            }
        }
        return nil
    }

    private mutating func split(off side: Set<Int>, from c: Int) {
        members[c]!.subtract(side)
        let oldMin = minimum[c]!
        if side.contains(oldMin) {
            minimum[c] = smallest(members[c]!)
            for n in members[c]! { changed.insert(n) }
        }
        let nc = newComponent(side)
        let mn = minimum[nc]!
        for n in side where clusterOf[n] != mn { changed.insert(n) }
    }

    /// Returns every concept whose cluster id changed since the last call (nil: no longer held).
    mutating func settle() -> [(concept: String, cluster: String?)] {
        var out: [(concept: String, cluster: String?)] = []
        out.reserveCapacity(changed.count)
        for n in changed {
            let newCluster = present[n] ? minimum[label[n]]! : -1
            if newCluster != clusterOf[n] {
                clusterOf[n] = newCluster
                out.append((names[n], newCluster >= 0 ? names[newCluster] : nil))
            }
        }
        changed.removeAll(keepingCapacity: true)
        return out
    }

    private func smallest<S: Sequence>(_ nodes: S) -> Int where S.Element == Int {
        var best = -1
        for n in nodes where best < 0 || ConceptKey.precedes(names[n], names[best]) { best = n }
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
