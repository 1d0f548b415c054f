import XCTest
import PlugHostTestSupport
@testable import PlugHostCore
@testable import PlugHostMemory
@testable import PlugHostTools

/// Model 2 (docs/memory-model.md, deterministic Louvain): hand-computed small cases, exactness
/// at weights where 64-bit products would overflow, the lazy layer's weighted graph against a
/// full run, and optimized ≡ eager over every workload shape.
final class LouvainClusteringTests: XCTestCase {
    /// Clusters of concepts `concepts` with edges `edges` (a, b, co, dep), as sorted groups.
    private func clusters(_ concepts: [String], _ edges: [(String, String, Int32, Int32)], theta: Int32 = 2) -> [[String]] {
        var held: [String: Int32] = [:]
        for c in concepts { held[c] = 1 }
        let snapshot = ConceptGraphSnapshot(
            concepts: held,
            edges: edges.map { e in
                let (a, b) = ConceptKey.precedes(e.0, e.1) ? (e.0, e.1) : (e.1, e.0)
                return (a, b, EdgeCounts(co: e.2, dep: e.3))
            })
        return groups(LouvainClustering.assignments(snapshot, theta: theta))
    }

    private func groups(_ assignments: [String: String]) -> [[String]] {
        CanonicalClusters.group(goal: "g", assignments: assignments).clusters.map(\.concepts)
    }

    func testConceptsWithoutEdgesAreClustersOfTheirOwn() {
        // 2m = 0: stop at once. co = 1 < θ is no edge and weighs nothing.
        XCTAssertEqual(clusters(["b", "a", "c"], [("a", "b", 1, 0)]), [["a"], ["b"], ["c"]])
        XCTAssertEqual(clusters([], []), [])
    }

    /// a–b–c–d, each weight 2; k = [2, 4, 4, 2], 2m = 12.
    /// Pass 1: a: gain(a) = 0, gain(b) = 12·2 − 2·4 = 16 → joins b (tot 6). b: tot[b] = 2,
    /// gain(b) = 24 − 4·2 = 16, gain(c) = 24 − 4·4 = 8 → stays. c: gain(c) = 0, gain(b) = 24 − 4·6 = 0
    /// (not greater), gain(d) = 24 − 4·2 = 16 → joins d. d: gain(d) = 24 − 2·4 = 16 → stays.
    /// Pass 2 moves nothing. Level 1: two nodes with self-loop 2 each and an edge of 2; k = 6,
    /// 2m = 12: gain(own) = 0 > gain(other) = 24 − 36 → no move: {a,b}, {c,d}.
    /// (Connected components gave one cluster.)
    func testPathOfFourSplitsInTwo() {
        XCTAssertEqual(
            clusters(["a", "b", "c", "d"], [("a", "b", 2, 0), ("b", "c", 2, 0), ("c", "d", 2, 0)]), [["a", "b"], ["c", "d"]])
    }

    /// Weights matter where existence does not: the same path with weights 5, 2, 5 splits at the
    /// light middle edge; with 2, 5, 2 (k = [2, 7, 7, 2], 2m = 18): a joins b (gain 36 − 2·7 = 22
    /// > 0), b joins c (90 − 7·7 = 41 > 36 − 7·2 = 22), c stays (41 > 36 − 7·2), d joins c
    /// (36 − 2·14 = 8 > 0); pass 2: a joins c (8 > 0). One community, one cluster.
    func testEdgeWeightsDecideWhereAPathSplits() {
        XCTAssertEqual(
            clusters(["a", "b", "c", "d"], [("a", "b", 5, 0), ("b", "c", 2, 0), ("c", "d", 5, 0)]), [["a", "b"], ["c", "d"]])
        XCTAssertEqual(clusters(["a", "b", "c", "d"], [("a", "b", 2, 0), ("b", "c", 5, 0), ("c", "d", 2, 0)]), [["a", "b", "c", "d"]])
        // dep adds to the weight: co 2 + dep 3 is 5 again.
        XCTAssertEqual(
            clusters(["a", "b", "c", "d"], [("a", "b", 2, 3), ("b", "c", 2, 0), ("c", "d", 1, 4)]), [["a", "b"], ["c", "d"]])
    }

    /// Two topics (triangles of weight 3) sharing one filler word `z` (weight 2 to a1 and b1):
    /// one connected component, but two clusters. Numbering a1 a2 a3 b1 b2 b3 z; k = 8 6 6 8 6 6 4,
    /// 2m = 44. Pass 1: a1 → a2's community (gain 44·3 − 8·6 = 84, a3's equal, not greater),
    /// a2 → a3's (96 > 84), a3 stays, b1 → b2's, b2 → b3's, b3 stays, z → a1's (56; b1's equal,
    /// not greater). Pass 2: a1 and z join a3's community, b1 b3's. Level 1 moves nothing.
    func testAFillerWordNoLongerChainsTwoTopics() {
        var edges: [(String, String, Int32, Int32)] = []
        for t in ["a", "b"] {
            edges += [("\(t)1", "\(t)2", 3, 0), ("\(t)1", "\(t)3", 3, 0), ("\(t)2", "\(t)3", 3, 0), ("\(t)1", "z", 2, 0)]
        }
        XCTAssertEqual(
            clusters(["a1", "a2", "a3", "b1", "b2", "b3", "z"], edges), [["a1", "a2", "a3", "z"], ["b1", "b2", "b3"]])
    }

    /// A star: every leaf joins the hub's community; one cluster whose id is its smallest
    /// member in UTF-8 byte order ("B" < "a" < "é").
    func testStarIsOneClusterWithTheSmallestMemberAsID() {
        let a = LouvainClustering.assignments(
            ConceptGraphSnapshot(
                concepts: ["é": 1, "a": 1, "B": 1, "hub": 1],
                edges: [
                    ("B", "hub", EdgeCounts(co: 2, dep: 0)), ("a", "hub", EdgeCounts(co: 2, dep: 0)),
                    ("hub", "é", EdgeCounts(co: 0, dep: 1)),
                ]),
            theta: 2)
        XCTAssertEqual(a, ["B": "B", "a": "B", "hub": "B", "é": "B"])
    }

    /// Step 4: a community is split into the connected parts of its present edges.
    func testFinalCommunitiesAreSplitIntoConnectedParts() {
        var edges = LouvainClustering.EdgeList()
        edges.append(0, 1, 2)
        edges.append(2, 3, 2)
        let g = LouvainClustering.Graph(nodeCount: 5, edges: edges)
        // One community {0,1,2,3}, one {4}: the first splits in {0,1} and {2,3}.
        XCTAssertEqual(LouvainClustering.split(g, [0, 0, 0, 0, 4]), [0, 0, 2, 2, 4])
        // Nodes of different communities are never joined, even by an edge.
        XCTAssertEqual(LouvainClustering.split(g, [0, 1, 2, 2, 4]), [0, 1, 2, 2, 4])
    }

    /// A random graph of `n` nodes and about `m` edges with weights 1…`maxWeight`.
    private func randomGraph(_ rng: inout SplitMix64, n: Int, m: Int, maxWeight: Int64) -> [(Int, Int, Int64)] {
        var seen = Set<Int>()
        var out: [(Int, Int, Int64)] = []
        for _ in 0..<m {
            let a = Int(rng.next() % UInt64(n)), b = Int(rng.next() % UInt64(n))
            guard a != b, seen.insert(min(a, b) * n + max(a, b)).inserted else { continue }
            out.append((a, b, 1 + Int64(rng.next() % UInt64(maxWeight))))
        }
        return out
    }

    private func run(_ n: Int, _ edges: [(Int, Int, Int64)], scale: Int64 = 1) -> [Int32] {
        var list = LouvainClustering.EdgeList()
        for e in edges { list.append(Int32(e.0), Int32(e.1), e.2 * scale) }
        return LouvainClustering.clusters(nodeCount: n, edges: list)
    }

    /// Scaling every weight by λ scales every gain by λ², so the clusters stay the same; with
    /// λ = 2^31 weights pass 2^32 and `2m·k_i,c` passes 2^63: exact only when computed wider.
    func testHugeWeightsAreExact() {
        var rng = SplitMix64(seed: 5)
        for _ in 0..<40 {
            let n = 2 + Int(rng.next() % 40)
            let edges = randomGraph(&rng, n: n, m: n * 2, maxWeight: 3)
            XCTAssertEqual(run(n, edges, scale: 1 << 31), run(n, edges))
        }
        // Through the snapshot path: co and dep at Int32.max each (w = 2^32 − 2).
        let big = Int32.max
        let a = LouvainClustering.assignments(
            ConceptGraphSnapshot(
                concepts: ["a": 1, "b": 1, "c": 1, "d": 1],
                edges: [
                    ("a", "b", EdgeCounts(co: big, dep: big)), ("b", "c", EdgeCounts(co: 2, dep: 0)),
                    ("c", "d", EdgeCounts(co: big, dep: big)),
                ]),
            theta: 2)
        XCTAssertEqual(a, ["a": "a", "b": "a", "c": "c", "d": "c"])
    }

    /// The result does not depend on the order edges or concepts are given in.
    func testEdgeOrderDoesNotMatter() {
        var rng = SplitMix64(seed: 9)
        for _ in 0..<40 {
            let n = 2 + Int(rng.next() % 60)
            var edges = randomGraph(&rng, n: n, m: n * 3, maxWeight: 5)
            let want = run(n, edges)
            for i in stride(from: edges.count - 1, to: 0, by: -1) { edges.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            edges = edges.map { rng.next() % 2 == 0 ? $0 : ($0.1, $0.0, $0.2) }
            XCTAssertEqual(run(n, edges), want)
        }
    }

    /// The lazy layer's weighted graph, changed at random and re-clustered now and then, reports
    /// exactly the changes that make its assignments those of a full run over the same graph.
    func testWeightedGraphMatchesAFullRun() {
        let names = (0..<16).map { "n\($0)" } + ["é", "Z", "ß", "a b", "東"]
        for seed in UInt64(1)...40 {
            var rng = SplitMix64(seed: seed)
            var g = WeightedConceptGraph()
            var held = Set<String>()
            var weights: [OraclePair: Int64] = [:]
            var reported: [String: String] = [:]
            for step in 0..<300 {
                let r = rng.next() % 100
                let a = names[Int(rng.next() % UInt64(names.count))], b = names[Int(rng.next() % UInt64(names.count))]
                if r < 15 {
                    // A concept appears (or, when it has no edges, disappears).
                    if held.contains(a) {
                        if !weights.keys.contains(where: { $0.lo == a || $0.hi == a }) {
                            held.remove(a)
                            g.apply(.conceptDisappeared(a))
                        }
                    } else {
                        held.insert(a)
                        g.apply(.conceptAppeared(a))
                    }
                } else if a != b {
                    for c in [a, b] where !held.contains(c) {
                        held.insert(c)
                        g.apply(.conceptAppeared(c))
                    }
                    let w = r < 40 ? 0 : Int64(rng.next() % 6)
                    weights[OraclePair(a, b)] = w == 0 ? nil : w
                    let (lo, hi) = ConceptKey.precedes(a, b) ? (a, b) : (b, a)
                    g.apply(.edgeWeight(lo, hi, w))
                }
                guard rng.next() % 10 == 0 || step == 299 else { continue }
                for (c, cluster) in g.recluster() {
                    XCTAssertNotEqual(reported[c], cluster, "seed \(seed) step \(step): reported an unchanged assignment of \(c)")
                    reported[c] = cluster
                }
                let snapshot = ConceptGraphSnapshot(
                    concepts: Dictionary(uniqueKeysWithValues: held.map { ($0, 1) }),
                    edges: weights.map { ($0.key.lo, $0.key.hi, EdgeCounts(co: Int32($0.value), dep: 0)) })
                let want = LouvainClustering.assignments(snapshot, theta: 1)
                guard reported == want else {
                    XCTFail("seed \(seed) step \(step): \(groups(reported)) != \(groups(want))")
                    break
                }
                XCTAssertEqual(g.presentCount, held.count)
                XCTAssertEqual(g.edgeCount, weights.count)
                XCTAssertTrue(g.recluster().isEmpty, "a second run reports nothing")
            }
        }
    }

    /// Optimized (lazy) ≡ eager, over every workload shape, several seeds, at every flush and at
    /// the end; both equal a full run over the stored graph.
    func testOptimizedEqualsEagerOverEveryShape() throws {
        for shape in WorkloadShape.allCases where shape.fixedOperations == nil {
            for seed in UInt64(1)...3 {
                let ops = WorkloadGenerator(shape: shape, operations: 400, seed: seed).generate()
                let clock = ManualClock()
                let fast = try makeMemoryService(optimized: true, clock: clock)
                let slow = try makeMemoryService(optimized: false, clock: clock)
                defer {
                    try? fast.close()
                    try? slow.close()
                }
                for (i, op) in ops.enumerated() {
                    for s in [fast, slow] {
                        switch op {
                        case .write(let w): _ = try s.write(w)
                        case .forget(let id): _ = try s.forget(id: id)
                        }
                    }
                    guard i % 97 == 96 || i == ops.count - 1 else { continue }
                    try fast.flush()
                    try slow.flush()
                    let f = CanonicalClusters.json(try fast.clusters()), e = CanonicalClusters.json(try slow.clusters())
                    XCTAssertEqual(f, e, "\(shape.rawValue) seed \(seed) op \(i)")
                    XCTAssertEqual(try fast.verifyClusters(), [], "\(shape.rawValue) seed \(seed) op \(i)")
                    XCTAssertEqual(try slow.verifyClusters(), [], "\(shape.rawValue) seed \(seed) op \(i)")
                }
            }
        }
    }

    /// A goal is re-clustered once its writes since its last run reach max(threshold, ⌈α·E⌉).
    func testRunsWaitForAlphaTimesTheEdges() throws {
        let clock = ManualClock()
        let s = try makeMemoryService(optimized: true, clock: clock, threshold: 10)
        defer { try? s.close() }
        // One write of 41 concepts: 820 pairs with co 1 (< θ, no edge); a second: 820 edges.
        let many = (0..<41).map { "c\($0)" }
        _ = try s.write(MemoryWrite(goal: "g", plugin: "p", content: "one", concepts: many))
        _ = try s.write(MemoryWrite(goal: "g", plugin: "p", content: "two", concepts: many))
        try s.flush()
        let afterFlush = s.stats.clusteringRuns
        XCTAssertEqual(LazyClusteringManager.writeLimit(threshold: 10, edges: 820), 41)
        XCTAssertEqual(LazyClusteringManager.writeLimit(threshold: 10, edges: 100), 10)
        // 40 writes of one new concept each: not due yet (⌈0.05·820⌉ = 41).
        for i in 0..<40 { _ = try s.write(MemoryWrite(goal: "g", plugin: "p", content: "x\(i)", concepts: ["x\(i)"])) }
        XCTAssertEqual(s.stats.clusteringRuns, afterFlush)
        _ = try s.write(MemoryWrite(goal: "g", plugin: "p", content: "x40", concepts: ["x40"]))
        XCTAssertEqual(s.stats.clusteringRuns, afterFlush + 1)
        // A flush with nothing pending runs nothing.
        try s.flush()
        XCTAssertEqual(s.stats.clusteringRuns, afterFlush + 1)
    }
}
