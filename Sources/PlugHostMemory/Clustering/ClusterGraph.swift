import PlugHostCore
/// The connected components of one goal's concept graph, kept up to date incrementally:
/// a union of two components where an edge appears; where an edge disappears, a search from
/// both of its ends at once that stops as soon as they meet (still connected) or as soon as the
/// smaller side is exhausted (that side splits off). Never recomputes the whole goal.
///
/// Concepts are interned to dense ids on first sight; everything else is arrays indexed by id
/// or by component label: adjacency lists, and member lists with each node's position in its
/// list so that a node leaves its component in O(1). No hashing past the name look-up.
struct ClusterGraph {
    private(set) var names: [String] = []
    private var ids: [String: Int32] = [:]
    private var present: [Bool] = []
    private var adjacency: [[Int32]] = []
    private var label: [Int32] = []  // component of each present node, -1 when absent
    private var position: [Int32] = []  // index of each present node in members[label]
    private var members: [[Int32]] = []  // component → nodes (empty when the label is free)
    private var minimum: [Int32] = []  // component → its smallest member (UTF-8 order)
    private var freeLabels: [Int32] = []
    private var clusterOf: [Int32] = []  // cluster id (a node) last reported, -1 for none
    private var changed: [Int32] = []  // nodes whose cluster id must be checked
    private var isChanged: [Bool] = []
    // Scratch space for the two-sided search, reused between searches.
    private var mark: [UInt32] = []
    private var epoch: UInt32 = 0

    /// Number of concepts currently present.
    private(set) var presentCount = 0

    mutating func node(_ name: String) -> Int {
        if let id = ids[name] { return Int(id) }
        let id = names.count
        names.append(name)
        ids[name] = Int32(id)
        present.append(false)
        adjacency.append([])
        label.append(-1)
        position.append(-1)
        clusterOf.append(-1)
        isChanged.append(false)
        mark.append(0)
        return id
    }

    func id(of name: String) -> Int? { ids[name].map(Int.init) }

    @inline(__always)
    private mutating func noteChanged(_ n: Int) {
        guard !isChanged[n] else { return }
        isChanged[n] = true
        changed.append(Int32(n))
    }

    private mutating func newComponent(_ nodes: [Int32]) -> Int {
        let c: Int
        if let free = freeLabels.popLast() {
            c = Int(free)
        } else {
            c = members.count
            members.append([])
            minimum.append(-1)
        }
        for (i, n) in nodes.enumerated() {
            label[Int(n)] = Int32(c)
            position[Int(n)] = Int32(i)
        }
        members[c] = nodes
        minimum[c] = Int32(smallest(nodes))
        return c
    }

    private mutating func freeComponent(_ c: Int) {
        members[c] = []
        minimum[c] = -1
        freeLabels.append(Int32(c))
    }

    /// Takes `n` out of its component's member list (the last member takes its place).
    private mutating func leaveComponent(_ n: Int) {
        let c = Int(label[n]), i = Int(position[n])
        let last = members[c].removeLast()
        if Int(last) != n {
            members[c][i] = last
            position[Int(last)] = Int32(i)
        }
        position[n] = -1
    }

    mutating func conceptAppeared(_ name: String) {
        conceptAppeared(node: node(name))
    }

    private mutating func conceptAppeared(node n: Int) {
        guard !present[n] else { return }
        present[n] = true
        presentCount += 1
        _ = newComponent([Int32(n)])
        noteChanged(n)
    }

    mutating func conceptDisappeared(_ name: String) {
        guard let id = ids[name] else { return }
        let n = Int(id)
        guard present[n] else { return }
        for m in adjacency[n] { edgeDisappeared(n, Int(m)) }
        present[n] = false
        presentCount -= 1
        let c = Int(label[n])
        leaveComponent(n)
        label[n] = -1
        if members[c].isEmpty {
            freeComponent(c)
        } else if Int(minimum[c]) == n {
            minimum[c] = Int32(smallest(members[c]))
            for m in members[c] { noteChanged(Int(m)) }
        }
        noteChanged(n)
    }

    mutating func edgeAppeared(_ a: String, _ b: String) {
        let x = node(a), y = node(b)
        if !present[x] { conceptAppeared(node: x) }
        if !present[y] { conceptAppeared(node: y) }
        // Already there? Look in the shorter list.
        let known = adjacency[x].count <= adjacency[y].count ? adjacency[x].contains(Int32(y)) : adjacency[y].contains(Int32(x))
        guard !known, x != y else { return }
        adjacency[x].append(Int32(y))
        adjacency[y].append(Int32(x))
        union(Int(label[x]), Int(label[y]))
    }

    mutating func edgeDisappeared(_ a: String, _ b: String) {
        guard let x = ids[a], let y = ids[b] else { return }
        edgeDisappeared(Int(x), Int(y))
    }

    private mutating func edgeDisappeared(_ x: Int, _ y: Int) {
        guard let i = adjacency[x].firstIndex(of: Int32(y)) else { return }
        adjacency[x].swapAt(i, adjacency[x].count - 1)
        adjacency[x].removeLast()
        if let j = adjacency[y].firstIndex(of: Int32(x)) {
            adjacency[y].swapAt(j, adjacency[y].count - 1)
            adjacency[y].removeLast()
        }
        if let side = separatedSide(x, y) { split(off: side, from: Int(label[x])) }
    }

    private mutating func union(_ c1: Int, _ c2: Int) {
        guard c1 != c2, !members[c1].isEmpty, !members[c2].isEmpty else { return }
        let (keep, absorb) = members[c1].count >= members[c2].count ? (c1, c2) : (c2, c1)
        let absorbed = members[absorb]
        let minKeep = Int(minimum[keep]), minAbsorb = Int(minimum[absorb])
        freeComponent(absorb)
        for n in absorbed {
            label[Int(n)] = Int32(keep)
            position[Int(n)] = Int32(members[keep].count)
            members[keep].append(n)
        }
        if ConceptKey.precedes(names[minAbsorb], names[minKeep]) {
            minimum[keep] = Int32(minAbsorb)
            for n in members[keep] where Int(clusterOf[Int(n)]) != minAbsorb { noteChanged(Int(n)) }
        } else {
            for n in absorbed where Int(clusterOf[Int(n)]) != minKeep { noteChanged(Int(n)) }
        }
    }

    /// After the edge x–y was removed: nil when x and y are still connected, else the nodes of
    /// the smaller side. Searches from both ends, always growing the smaller side.
    private mutating func separatedSide(_ x: Int, _ y: Int) -> [Int32]? {
        epoch &+= 2
        if epoch < 2 {  // wrapped: clear the marks
            for i in mark.indices { mark[i] = 0 }
            epoch = 2
        }
        let markX = epoch, markY = epoch &+ 1
        var sideX: [Int32] = [Int32(x)], sideY: [Int32] = [Int32(y)]
        var headX = 0, headY = 0
        mark[x] = markX
        mark[y] = markY
        while true {
            let growX = sideX.count - headX > 0 && (sideX.count <= sideY.count || sideY.count - headY == 0)
            if !growX && sideY.count - headY == 0 { break }
            if growX {
                let n = Int(sideX[headX])
                headX += 1
                for m in adjacency[n] {
                    if mark[Int(m)] == markY { return nil }
                    if mark[Int(m)] != markX {
                        mark[Int(m)] = markX
                        sideX.append(m)
                    }
                }
                if headX == sideX.count { return sideX }
            } else {
                let n = Int(sideY[headY])
                headY += 1
                for m in adjacency[n] {
                    if mark[Int(m)] == markX { return nil }
                    if mark[Int(m)] != markY {
                        mark[Int(m)] = markY
                        sideY.append(m)
                    }
                }
                if headY == sideY.count { return sideY }
            }
        }
        return nil
    }

    private mutating func split(off side: [Int32], from c: Int) {
        let oldMin = Int(minimum[c])
        for n in side { leaveComponent(Int(n)) }
        let nc = newComponent(side)
        if Int(label[oldMin]) == nc {
            minimum[c] = Int32(smallest(members[c]))
            for n in members[c] { noteChanged(Int(n)) }
        }
        let mn = minimum[nc]
        for n in side where clusterOf[Int(n)] != mn { noteChanged(Int(n)) }
    }

    /// Returns every concept whose cluster id changed since the last call (nil: no longer held).
    mutating func settle() -> [(concept: String, cluster: String?)] {
        var out: [(concept: String, cluster: String?)] = []
        out.reserveCapacity(changed.count)
        for n32 in changed {
            let n = Int(n32)
            isChanged[n] = false
            let newCluster = present[n] ? minimum[Int(label[n])] : -1
            if newCluster != clusterOf[n] {
                clusterOf[n] = newCluster
                out.append((names[n], newCluster >= 0 ? names[Int(newCluster)] : nil))
            }
        }
        changed.removeAll(keepingCapacity: true)
        return out
    }

    private func smallest(_ nodes: [Int32]) -> Int {
        var best = -1
        for n in nodes where best < 0 || ConceptKey.precedes(names[Int(n)], names[best]) { best = Int(n) }
        return best
    }

    /// Marks a concept's reported cluster id as already stored (used when loading a goal).
    mutating func assumeStored(_ concept: String, cluster: String) {
        let n = node(concept)
        let c = node(cluster)
        clusterOf[n] = Int32(c)
    }
}

/// Full (non-incremental) clustering of a graph snapshot: what the eager baseline runs after
/// every write, and what recovery checks against.
package enum FullClustering {
    /// concept → cluster id for every held concept of `snapshot` under threshold `theta`.
    package static func assignments(_ snapshot: ConceptGraphSnapshot, theta: Int32) -> [String: String] {
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
        for e in snapshot.edges where EdgeRule.isEdge(co: e.counts.co, dep: e.counts.dep, threshold: theta) {
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
