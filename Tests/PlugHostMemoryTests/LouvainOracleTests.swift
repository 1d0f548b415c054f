import XCTest
import PlugHostTestSupport
import PlugHost

/// Hand-computed cases of the oracle's deterministic Louvain (model 2). Each expected result
/// was worked out on paper from the model's steps; the comments give the deciding gains
/// (gain(c) = 2m·k_i,c − k_i·tot[c]).
final class LouvainOracleTests: XCTestCase {
    private func clusters(_ edges: [(String, String, Int64)], extra: [String] = []) -> [[String]] {
        let concepts = Set(edges.flatMap { [$0.0, $0.1] } + extra)
        return LouvainOracle.clusters(concepts: concepts, edges: edges.map { (a: $0.0, b: $0.1, weight: $0.2) })
    }

    /// Two triangles a-b-c and d-e-f joined by c–d (all weights 1), 2m = 14. Level 0: a joins b
    /// (gain 10 > 8), c joins {a,b} (16), d ties between e and f (8 = 8: e, the lower id),
    /// e moves to f (10 > 8), then d to {e,f} (16). Level 1: two nodes with self-loops 3 and
    /// an edge of weight 1: merging would gain 14 − 49 < 0, so no move and the run stops.
    func testTwoTrianglesJoinedByAnEdge() {
        let edges: [(String, String, Int64)] = [
            ("a", "b", 1), ("a", "c", 1), ("b", "c", 1), ("c", "d", 1), ("d", "e", 1), ("d", "f", 1), ("e", "f", 1),
        ]
        XCTAssertEqual(clusters(edges), [["a", "b", "c"], ["d", "e", "f"]])
        let run = LouvainOracle.communities(
            nodeCount: 6, edges: [(0, 1), (0, 2), (1, 2), (2, 3), (3, 4), (3, 5), (4, 5)].map { LouvainEdge($0.0, $0.1, 1) })
        XCTAssertEqual(run.levels.count, 2)
        XCTAssertEqual(run.levels[1], LouvainLevel(neighbours: [[1: 1], [0: 1]], selfLoop: [3, 3]))
        XCTAssertEqual(run.community, [0, 0, 0, 1, 1, 1])
    }

    /// a–b 3, y–z 3, b–m 1, m–y 1 (a0 b1 m2 y3 z4, 2m = 16). Pass 1: m joins y (8 > 2), y then
    /// leaves m for z (36 > 8). Pass 2: m, alone, sees gain 2 for {a,b} (id 1) and 2 for {y,z}
    /// (id 4): only a strictly greater gain replaces the best, so the lower id wins. With "≥"
    /// m would join {y,z}.
    func testTieBetweenNeighbourCommunitiesGoesToTheLowerID() {
        XCTAssertEqual(clusters([("a", "b", 3), ("y", "z", 3), ("b", "m", 1), ("m", "y", 1)]), [["a", "b", "m"], ["y", "z"]])
    }

    /// The same shape with m's bridge on the other end of the pair: m joins {y,z} in pass 1
    /// (8 > 2); in pass 2 its own community and {a,b} both gain 2, and it stays (the best
    /// starts as its own community).
    func testTieWithItsOwnCommunityStays() {
        XCTAssertEqual(clusters([("a", "b", 3), ("y", "z", 3), ("b", "m", 1), ("m", "z", 1)]), [["a", "b"], ["m", "y", "z"]])
    }

    /// Nodes are numbered in UTF-8 byte order: "ｙ" (EF BD 99) before "😀" (F0 9F 98 80),
    /// although UTF-16 puts 😀 (D83D …) first. The tie of the case above then decides for the
    /// byte order: m stays with {ｙ,😀}; numbered in UTF-16 order it would join {a,b}.
    func testUnicodeKeysAreNumberedInUTF8ByteOrder() {
        XCTAssertTrue(OracleOrder.less("ｙ", "😀"))
        XCTAssertEqual(
            clusters([("a", "b", 3), ("😀", "ｙ", 3), ("b", "m", 1), ("m", "😀", 1)]), [["a", "b"], ["m", "ｙ", "😀"]])
        XCTAssertEqual(
            clusters([("a", "b", 3), ("ｙ", "😀", 3), ("b", "m", 1), ("m", "ｙ", 1)]), [["a", "b", "m"], ["ｙ", "😀"]])
    }

    /// Four pairs (weight 4) in a row, neighbouring pairs joined by two edges of 2, the middle
    /// ones by d–e 1 (2m = 50). Level 0 forms the pairs; level 1 has self-loops 4 and joins
    /// them two by two (gain 200 − 12·13 = 44 > 0); level 2's self-loops are 4 + 4 + 4 = 12
    /// (members' self-loops plus the edge between them) and the last merge would gain
    /// 50 − 25·25 < 0.
    func testAggregationSumsSelfLoopsAndInnerEdges() {
        let edges: [(String, String, Int64)] = [
            ("a", "b", 4), ("c", "d", 4), ("e", "f", 4), ("g", "h", 4), ("b", "c", 2), ("a", "d", 2), ("f", "g", 2), ("e", "h", 2),
            ("d", "e", 1),
        ]
        XCTAssertEqual(clusters(edges), [["a", "b", "c", "d"], ["e", "f", "g", "h"]])
        let names = ["a", "b", "c", "d", "e", "f", "g", "h"]
        let run = LouvainOracle.communities(
            nodeCount: 8,
            edges: edges.map { LouvainEdge(names.firstIndex(of: $0.0)!, names.firstIndex(of: $0.1)!, $0.2) })
        XCTAssertEqual(run.levels.count, 3)
        XCTAssertEqual(run.levels[1], LouvainLevel(neighbours: [[1: 4], [0: 4, 2: 1], [1: 1, 3: 4], [2: 4]], selfLoop: [4, 4, 4, 4]))
        XCTAssertEqual(run.levels[2], LouvainLevel(neighbours: [[1: 1], [0: 1]], selfLoop: [12, 12]))
    }

    /// A community that is not connected: at level 1 (2m = 62) the pairs {05,06} and {07,08}
    /// (degree 3 each) join {04,12} (degree 14; gains 62 − 3·14 = 20, then 62 − 3·17 = 11);
    /// then {04,12} leaves them for {00,02,10} (496 − 14·32 = 48 > 124 − 14·6 = 40), and they
    /// stay together (−9 > −76). Step 4 splits their community into its two connected parts.
    func testDisconnectedCommunityIsSplitIntoConnectedParts() {
        let edges: [(String, String, Int64)] = [
            ("00", "02", 6), ("00", "04", 3), ("00", "10", 6), ("01", "09", 5), ("02", "12", 3), ("04", "06", 1), ("04", "07", 1),
            ("04", "10", 2), ("04", "12", 2), ("05", "06", 1), ("07", "08", 1),
        ]
        XCTAssertEqual(clusters(edges), [["00", "02", "04", "10", "12"], ["01", "09"], ["05", "06"], ["07", "08"]])
        let names = OracleOrder.sorted(Set(edges.flatMap { [$0.0, $0.1] }))
        let run = LouvainOracle.communities(
            nodeCount: names.count,
            edges: edges.map { LouvainEdge(names.firstIndex(of: $0.0)!, names.firstIndex(of: $0.1)!, $0.2) })
        // 05, 06, 07 and 08 end in one community: the split is step 4's.
        let c = run.community
        XCTAssertEqual(Set([4, 5, 6, 7].map { c[$0] }).count, 1)
        XCTAssertEqual(run.levels.last, LouvainLevel(neighbours: [[:], [2: 2], [1: 2]], selfLoop: [5, 22, 2]))
    }

    /// A concept without edges is a cluster of its own; a graph without edges (2m = 0) stops at
    /// once with every concept alone.
    func testIsolatedConcepts() {
        XCTAssertEqual(clusters([("a", "b", 2)], extra: ["lone", "Ä"]), [["a", "b"], ["lone"], ["Ä"]])
        XCTAssertEqual(clusters([], extra: ["z", "b", "é"]), [["b"], ["z"], ["é"]])
        XCTAssertEqual(LouvainOracle.communities(nodeCount: 3, edges: []).levels.count, 1)
    }

    /// Through the oracle's memories: edge weight co + dep, an edge when co ≥ θ or dep ≥ 1.
    /// Here m–z has co 1 and dep 1 (weight 2), b–m co 1 (no edge at θ 2): m goes to {y,z}.
    func testOracleUsesCoPlusDepWeights() {
        let o = Oracle(theta: 2)
        var n = 0
        func write(_ cs: [String], deps: [Dependency] = []) {
            n += 1
            o.write(MemoryWrite(goal: "g", plugin: "p", content: "\(n)", concepts: cs, dependsOn: deps), id: "m\(n)", now: 0)
        }
        for _ in 0..<3 { write(["a", "b"]) }
        for _ in 0..<3 { write(["y", "z"]) }
        write(["b", "m"])
        write(["m"], deps: [Dependency("m", "z")])
        XCTAssertEqual(
            o.clusters(now: 0).first?.clusters, [Cluster(id: "a", concepts: ["a", "b"]), Cluster(id: "m", concepts: ["m", "y", "z"])])
    }
}
