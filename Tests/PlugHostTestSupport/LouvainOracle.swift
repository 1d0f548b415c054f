// The deterministic Louvain of the memory model (version 2), written from the model's text
// only (docs/memory-model.md, issue 16), independently of the product's clustering code: plain
// arrays and dictionaries, every level rebuilt from scratch, gains in exact 128-bit integers.

/// An undirected weighted edge between two distinct level-0 nodes (weight ≥ 1).
package struct LouvainEdge: Hashable {
    package let a: Int
    package let b: Int
    package let weight: Int64
    package init(_ a: Int, _ b: Int, _ weight: Int64) {
        self.a = a
        self.b = b
        self.weight = weight
    }
}

/// One level of the Louvain run: nodes 0..<count, neighbour weights and self-loops.
package struct LouvainLevel: Equatable {
    /// `neighbours[i][j]`: the summed weight between distinct nodes `i` and `j` (both directions).
    package var neighbours: [[Int: Int64]]
    /// `selfLoop[i]`: the weight of node `i`'s self-loop.
    package var selfLoop: [Int64]

    package init(neighbours: [[Int: Int64]], selfLoop: [Int64]) {
        self.neighbours = neighbours
        self.selfLoop = selfLoop
    }

    package var count: Int { selfLoop.count }

    /// `k_i`: the sum of `i`'s edge weights plus twice its self-loop weight.
    package func degree(_ i: Int) -> Int64 {
        var k: Int64 = 0
        for (_, w) in neighbours[i] { k += w }
        return k + 2 * selfLoop[i]
    }
}

package enum LouvainOracle {
    /// The final community of each level-0 node (labels are arbitrary but equal exactly for
    /// nodes of the same community), by steps 1–3 of the model. Also returns the levels run.
    package static func communities(nodeCount n: Int, edges: [LouvainEdge]) -> (community: [Int], levels: [LouvainLevel]) {
        var level = LouvainLevel(neighbours: Array(repeating: [:], count: n), selfLoop: Array(repeating: 0, count: n))
        for e in edges {
            precondition(e.a != e.b && e.weight > 0, "level-0 edges join distinct nodes with a positive weight")
            level.neighbours[e.a][e.b, default: 0] += e.weight
            level.neighbours[e.b][e.a, default: 0] += e.weight
        }
        // node[x]: the current-level node that level-0 node x belongs to.
        var node = Array(0..<n)
        var levels: [LouvainLevel] = []
        while true {
            levels.append(level)
            let (community, moved) = localMoving(level)
            if !moved { break }
            // Step 3: non-empty communities in increasing id become the new nodes.
            let ids = Array(Set(community)).sorted()
            var newNumber: [Int: Int] = [:]
            for (k, c) in ids.enumerated() { newNumber[c] = k }
            var next = LouvainLevel(
                neighbours: Array(repeating: [:], count: ids.count), selfLoop: Array(repeating: 0, count: ids.count))
            for i in 0..<level.count {
                let ci = newNumber[community[i]]!
                next.selfLoop[ci] += level.selfLoop[i]
                for (j, w) in level.neighbours[i] where i < j {  // each edge once
                    let cj = newNumber[community[j]]!
                    if ci == cj {
                        next.selfLoop[ci] += w
                    } else {
                        next.neighbours[ci][cj, default: 0] += w
                        next.neighbours[cj][ci, default: 0] += w
                    }
                }
            }
            for x in 0..<n { node[x] = newNumber[community[node[x]]]! }
            level = next
        }
        return (node, levels)
    }

    /// Step 2 over one level, each node starting in its own community (id = its number): the
    /// final community of each node, and whether any node moved.
    package static func localMoving(_ level: LouvainLevel) -> (community: [Int], moved: Bool) {
        let n = level.count
        var community = Array(0..<n)
        let k = (0..<n).map { level.degree($0) }
        let twoM = Int128(k.reduce(0, +))
        if twoM == 0 { return (community, false) }
        var tot = k.map { Int128($0) }
        var movedAny = false
        while true {
            var movedThisPass = false
            for i in 0..<n {
                let ci = community[i]
                let ki = Int128(k[i])
                tot[ci] -= ki
                // k_i,c for every community c of a neighbour (self-loop excluded: neighbours
                // never hold i itself).
                var toCommunity: [Int: Int128] = [:]
                for (j, w) in level.neighbours[i] { toCommunity[community[j], default: 0] += Int128(w) }
                func gain(_ c: Int) -> Int128 { twoM * (toCommunity[c] ?? 0) - ki * tot[c] }
                var best = ci
                var bestGain = gain(ci)
                for c in toCommunity.keys.sorted() {
                    let g = gain(c)
                    if g > bestGain {
                        best = c
                        bestGain = g
                    }
                }
                community[i] = best
                tot[best] += ki
                if best != ci {
                    movedThisPass = true
                    movedAny = true
                }
            }
            if !movedThisPass { break }
        }
        return (community, movedAny)
    }

    /// The model's clusters of one goal graph: `concepts` (held ≥ 1) and weighted edges between
    /// them (`w = co + dep` of each present edge). Communities split into connected parts of
    /// their induced graph (step 4); each cluster sorted in UTF-8 byte order, clusters by their
    /// first member.
    package static func clusters(concepts: some Sequence<String>, edges: [(a: String, b: String, weight: Int64)]) -> [[String]] {
        let keys = OracleOrder.sorted(Set(concepts))
        var number: [String: Int] = [:]
        for (i, c) in keys.enumerated() { number[c] = i }
        var levelEdges: [LouvainEdge] = []
        var adjacency = Array(repeating: [Int](), count: keys.count)
        for e in edges {
            let a = number[e.a]!, b = number[e.b]!
            levelEdges.append(LouvainEdge(a, b, e.weight))
            adjacency[a].append(b)
            adjacency[b].append(a)
        }
        let community = communities(nodeCount: keys.count, edges: levelEdges).community
        // Step 4: connected parts of each community through its own present edges.
        var seen = Array(repeating: false, count: keys.count)
        var out: [[String]] = []
        for start in 0..<keys.count where !seen[start] {
            seen[start] = true
            var stack = [start]
            var members: [Int] = []
            while let x = stack.popLast() {
                members.append(x)
                for y in adjacency[x] where !seen[y] && community[y] == community[start] {
                    seen[y] = true
                    stack.append(y)
                }
            }
            out.append(members.sorted().map { keys[$0] })
        }
        return out
    }
}
