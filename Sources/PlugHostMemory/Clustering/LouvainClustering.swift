import PlugHostCore

/// The clusters of a goal as docs/memory-model.md defines them (model 2): a deterministic
/// Louvain run over the whole goal graph in exact integer arithmetic, each final community
/// split into the connected parts of its present edges. What the eager path runs after every
/// write, what the lazy layer runs on its per-goal graph, and what recovery checks against.
///
/// Weights are `Int64` (`co + dep`, each an `Int32`), degrees and `2m` are sums of them
/// (`Int64`: at most 2·2^32 per edge, so 2^31 edges before they could overflow), and the two
/// products of a gain are `Int128`: no step can overflow or round.
package enum LouvainClustering {
    /// concept → cluster id for every held concept of `snapshot` under threshold `theta`.
    package static func assignments(_ snapshot: ConceptGraphSnapshot, theta: Int32) -> [String: String] {
        let names = snapshot.concepts.keys.sorted(by: ConceptKey.precedes)
        var index: [String: Int32] = [:]
        index.reserveCapacity(names.count)
        for (i, name) in names.enumerated() { index[name] = Int32(i) }
        var edges = EdgeList()
        edges.reserve(snapshot.edges.count)
        for e in snapshot.edges {
            let w = EdgeRule.weight(co: e.counts.co, dep: e.counts.dep, threshold: theta)
            guard w > 0, let a = index[e.a], let b = index[e.b], a != b else { continue }
            edges.append(a, b, w)
        }
        let cluster = clusters(nodeCount: names.count, edges: edges)
        var out: [String: String] = [:]
        out.reserveCapacity(names.count)
        for (i, name) in names.enumerated() { out[name] = names[Int(cluster[i])] }
        return out
    }

    /// Undirected weighted edges between node numbers, each given once.
    package struct EdgeList {
        package var a: [Int32] = []
        package var b: [Int32] = []
        package var w: [Int64] = []

        package init() {}

        package mutating func reserve(_ n: Int) {
            a.reserveCapacity(n)
            b.reserveCapacity(n)
            w.reserveCapacity(n)
        }

        package mutating func append(_ x: Int32, _ y: Int32, _ weight: Int64) {
            a.append(x)
            b.append(y)
            w.append(weight)
        }

        package var count: Int { w.count }
    }

    /// A graph in compressed sparse rows: node `i`'s neighbours are `targets[offsets[i]..<offsets[i+1]]`
    /// with the parallel `weights`; every edge is listed at both ends. `selfLoops[i]` is node
    /// `i`'s self-loop weight.
    struct Graph {
        var offsets: [Int]
        var targets: [Int32]
        var weights: [Int64]
        var selfLoops: [Int64]
        var nodeCount: Int { selfLoops.count }

        /// The graph of `edges` over nodes `0..<n` (no self-loops).
        init(nodeCount n: Int, edges: EdgeList) {
            var offsets = [Int](repeating: 0, count: n + 1)
            for k in 0..<edges.count {
                offsets[Int(edges.a[k]) + 1] += 1
                offsets[Int(edges.b[k]) + 1] += 1
            }
            for i in 0..<n { offsets[i + 1] += offsets[i] }
            var fill = offsets
            var targets = [Int32](repeating: 0, count: offsets[n])
            var weights = [Int64](repeating: 0, count: offsets[n])
            for k in 0..<edges.count {
                let x = Int(edges.a[k]), y = Int(edges.b[k]), w = edges.w[k]
                targets[fill[x]] = Int32(y)
                weights[fill[x]] = w
                fill[x] += 1
                targets[fill[y]] = Int32(x)
                weights[fill[y]] = w
                fill[y] += 1
            }
            self.init(offsets: offsets, targets: targets, weights: weights, selfLoops: [Int64](repeating: 0, count: n))
        }

        init(offsets: [Int], targets: [Int32], weights: [Int64], selfLoops: [Int64]) {
            self.offsets = offsets
            self.targets = targets
            self.weights = weights
            self.selfLoops = selfLoops
        }
    }

    /// The cluster of each node `0..<nodeCount` (nodes numbered in UTF-8 byte order of their
    /// keys): the number of its cluster's smallest node.
    package static func clusters(nodeCount n: Int, edges: EdgeList) -> [Int32] {
        let base = Graph(nodeCount: n, edges: edges)
        let community = communities(base)
        return split(base, community)
    }

    /// Steps 1–3: the final community of every level-0 node (a number per community).
    static func communities(_ base: Graph) -> [Int32] {
        let n = base.nodeCount
        // Level-0 node → its node at the current level.
        var nodeOf = (0..<n).map { Int32($0) }
        var graph = base
        while true {
            guard let community = localMoving(graph) else { break }
            let (next, newID) = aggregate(graph, community)
            for v in 0..<n { nodeOf[v] = newID[Int(community[Int(nodeOf[v])])] }
            graph = next
        }
        return nodeOf
    }

    /// Step 1–2 at one level: the community of each node after local moving, or nil when no
    /// node moved (or `2m = 0`).
    static func localMoving(_ g: Graph) -> [Int32]? {
        let n = g.nodeCount
        var degree = [Int64](repeating: 0, count: n)
        var twoM: Int64 = 0
        for i in 0..<n {
            var k = 2 * g.selfLoops[i]
            for e in g.offsets[i]..<g.offsets[i + 1] { k += g.weights[e] }
            degree[i] = k
            twoM += k
        }
        if twoM == 0 { return nil }
        let m2 = Int128(twoM)
        var community = (0..<n).map { Int32($0) }
        var tot = degree
        // Summed weight of the current node's edges into each community, and which are set.
        var toCommunity = [Int64](repeating: 0, count: n)
        var listed = [Bool](repeating: false, count: n)
        var touched: [Int32] = []
        var movedInLevel = false
        var moved = true
        while moved {
            moved = false
            for i in 0..<n {
                let ci = Int(community[i])
                let ki = degree[i]
                tot[ci] -= ki
                for e in g.offsets[i]..<g.offsets[i + 1] {
                    let c = Int(community[Int(g.targets[e])])
                    if !listed[c] {
                        listed[c] = true
                        touched.append(Int32(c))
                    }
                    toCommunity[c] += g.weights[e]
                }
                let kiWide = Int128(ki)
                var best = ci
                var bestGain = m2 * Int128(toCommunity[ci]) - kiWide * Int128(tot[ci])
                // Equivalent to going through the neighbours' communities in increasing id and
                // taking one only when strictly better: the smallest id among the best gains,
                // when that gain is strictly greater than staying's.
                for c32 in touched {
                    let c = Int(c32)
                    let gain = m2 * Int128(toCommunity[c]) - kiWide * Int128(tot[c])
                    if gain > bestGain || (gain == bestGain && best != ci && c < best) {
                        best = c
                        bestGain = gain
                    }
                    toCommunity[c] = 0
                    listed[c] = false
                }
                toCommunity[ci] = 0
                touched.removeAll(keepingCapacity: true)
                community[i] = Int32(best)
                tot[best] += ki
                if best != ci { moved = true }
            }
            if moved { movedInLevel = true }
        }
        return movedInLevel ? community : nil
    }

    /// Step 3: one node per non-empty community, numbered in increasing community id; weights
    /// between communities summed, edges inside a community added to its self-loop once.
    /// Returns the new graph and each old community's new number (-1 when empty).
    static func aggregate(_ g: Graph, _ community: [Int32]) -> (Graph, [Int32]) {
        let n = g.nodeCount
        var size = [Int](repeating: 0, count: n)
        for c in community { size[Int(c)] += 1 }
        var newID = [Int32](repeating: -1, count: n)
        var count = 0
        for c in 0..<n where size[c] > 0 {
            newID[c] = Int32(count)
            count += 1
        }
        // Members of each new node (counting sort).
        var start = [Int](repeating: 0, count: count + 1)
        for i in 0..<n { start[Int(newID[Int(community[i])]) + 1] += 1 }
        for c in 0..<count { start[c + 1] += start[c] }
        var fill = start
        var members = [Int32](repeating: 0, count: n)
        for i in 0..<n {
            let c = Int(newID[Int(community[i])])
            members[fill[c]] = Int32(i)
            fill[c] += 1
        }
        var offsets = [Int](repeating: 0, count: count + 1)
        var targets: [Int32] = []
        var weights: [Int64] = []
        var selfLoops = [Int64](repeating: 0, count: count)
        var acc = [Int64](repeating: 0, count: count)
        var listed = [Bool](repeating: false, count: count)
        var touched: [Int32] = []
        for c in 0..<count {
            var loop: Int64 = 0
            for k in start[c]..<start[c + 1] {
                let i = Int(members[k])
                loop += g.selfLoops[i]
                for e in g.offsets[i]..<g.offsets[i + 1] {
                    let j = Int(g.targets[e])
                    let d = Int(newID[Int(community[j])])
                    if d == c {
                        if i < j { loop += g.weights[e] }
                    } else {
                        if !listed[d] {
                            listed[d] = true
                            touched.append(Int32(d))
                        }
                        acc[d] += g.weights[e]
                    }
                }
            }
            selfLoops[c] = loop
            for d in touched {
                targets.append(d)
                weights.append(acc[Int(d)])
                acc[Int(d)] = 0
                listed[Int(d)] = false
            }
            touched.removeAll(keepingCapacity: true)
            offsets[c + 1] = targets.count
        }
        return (Graph(offsets: offsets, targets: targets, weights: weights, selfLoops: selfLoops), newID)
    }

    /// Step 4: each community split into the connected parts of the present edges among its
    /// nodes; each node's cluster is its part's smallest node.
    static func split(_ g: Graph, _ community: [Int32]) -> [Int32] {
        let n = g.nodeCount
        // Union-find whose root is always the smallest node of its set.
        var parent = (0..<n).map { Int32($0) }
        func find(_ x: Int) -> Int {
            var x = x
            while Int(parent[x]) != x {
                let p = Int(parent[x])
                parent[x] = parent[p]
                x = p
            }
            return x
        }
        for i in 0..<n {
            for e in g.offsets[i]..<g.offsets[i + 1] {
                let j = Int(g.targets[e])
                guard i < j, community[i] == community[j] else { continue }
                let ri = find(i), rj = find(j)
                if ri < rj { parent[rj] = Int32(ri) } else if rj < ri { parent[ri] = Int32(rj) }
            }
        }
        return (0..<n).map { Int32(find($0)) }
    }
}
