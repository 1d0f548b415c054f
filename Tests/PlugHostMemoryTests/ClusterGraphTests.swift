import XCTest
import PlugHostTestSupport
@testable import PlugHost
@testable import PlugHostCore
@testable import PlugHostMemory
@testable import PlugHostSQLite
@testable import PlugHostPostgres
@testable import PlugHostPipeline
@testable import PlugHostTools

/// The incremental connected components of `ClusterGraph` against a from-scratch recompute.
final class ClusterGraphTests: XCTestCase {
    /// A from-scratch model: present concepts and existing edges.
    private struct Truth {
        var present = Set<String>()
        var edges = Set<OraclePair>()

        /// concept → smallest member of its component (UTF-8 byte order).
        func assignments() -> [String: String] {
            var adjacency: [String: [String]] = [:]
            for e in edges {
                adjacency[e.lo, default: []].append(e.hi)
                adjacency[e.hi, default: []].append(e.lo)
            }
            var out: [String: String] = [:]
            var seen = Set<String>()
            for start in present where !seen.contains(start) {
                var stack = [start], members: [String] = []
                seen.insert(start)
                while let n = stack.popLast() {
                    members.append(n)
                    for m in adjacency[n] ?? [] where !seen.contains(m) {
                        seen.insert(m)
                        stack.append(m)
                    }
                }
                let id = OracleOrder.sorted(members)[0]
                for m in members { out[m] = id }
            }
            return out
        }
    }

    /// Applies `settle()`'s reported changes to `reported`; fails on a report that changes
    /// nothing.
    private func settle(_ g: inout ClusterGraph, into reported: inout [String: String], file: StaticString = #filePath, line: UInt = #line)
    {
        for (concept, cluster) in g.settle() {
            XCTAssertNotEqual(reported[concept], cluster, "reported an unchanged assignment of \(concept)", file: file, line: line)
            reported[concept] = cluster
        }
    }

    private func check(
        _ g: inout ClusterGraph, _ reported: inout [String: String], _ truth: Truth, _ what: String,
        file: StaticString = #filePath, line: UInt = #line
    ) -> Bool {
        settle(&g, into: &reported, file: file, line: line)
        let want = truth.assignments()
        if reported != want {
            let diff = Set(reported.keys).union(want.keys).filter { reported[$0] != want[$0] }.sorted().prefix(10)
                .map { "\($0): got \(reported[$0] ?? "nil"), want \(want[$0] ?? "nil")" }
            XCTFail("\(what): \(diff)", file: file, line: line)
            return false
        }
        XCTAssertEqual(g.presentCount, truth.present.count, what, file: file, line: line)
        XCTAssertTrue(g.settle().isEmpty, "\(what): a second settle reports nothing", file: file, line: line)
        return true
    }

    func testRandomUnionSplitSequencesMatchRecompute() {
        let names = (0..<14).map { "n\($0)" } + ["é", "Z", "ß", "a b", "東"]
        for seed in UInt64(1)...60 {
            var rng = OracleRNG(seed: seed)
            var g = ClusterGraph()
            var truth = Truth()
            var reported: [String: String] = [:]
            let vocab = Array(names.prefix(rng.int(4...names.count)))
            for step in 0..<300 {
                let r = rng.int(100)
                if r < 40 {
                    let a = rng.pick(vocab), b = rng.pick(vocab)
                    guard a != b else { continue }
                    g.edgeAppeared(a, b)
                    truth.present.insert(a)
                    truth.present.insert(b)
                    truth.edges.insert(OraclePair(a, b))
                } else if r < 75 {
                    guard let e = truth.edges.sorted(by: { ($0.lo, $0.hi) < ($1.lo, $1.hi) }).randomElement(using: &rng) else { continue }
                    let (x, y) = rng.chance(0.5) ? (e.lo, e.hi) : (e.hi, e.lo)
                    g.edgeDisappeared(x, y)
                    truth.edges.remove(e)
                } else if r < 87 {
                    let c = rng.pick(vocab)
                    g.conceptAppeared(c)
                    truth.present.insert(c)
                } else {
                    guard let c = truth.present.sorted().randomElement(using: &rng) else { continue }
                    // As the write path does: the concept's edges first (usually), then the concept.
                    if rng.chance(0.7) {
                        for e in truth.edges where e.lo == c || e.hi == c { g.edgeDisappeared(e.lo, e.hi) }
                    }
                    g.conceptDisappeared(c)
                    truth.present.remove(c)
                    truth.edges = truth.edges.filter { $0.lo != c && $0.hi != c }
                }
                if rng.chance(0.3) || step == 299 {
                    if !check(&g, &reported, truth, "seed \(seed) step \(step)") { return }
                }
            }
        }
    }

    func testEdgeDisappearedIsSymmetricInItsEnds() {
        var g = ClusterGraph()
        var reported: [String: String] = [:]
        var truth = Truth()
        for (a, b) in [("a", "b"), ("b", "c")] {
            g.edgeAppeared(a, b)
            truth.edges.insert(OraclePair(a, b))
        }
        truth.present = ["a", "b", "c"]
        XCTAssertTrue(check(&g, &reported, truth, "chain"))
        g.edgeDisappeared("c", "b")  // reversed ends
        truth.edges.remove(OraclePair("b", "c"))
        XCTAssertTrue(check(&g, &reported, truth, "reversed removal"))
        XCTAssertEqual(reported, ["a": "a", "b": "a", "c": "c"])
    }

    func testLongChainBreaksInTheMiddleAndRejoins() {
        let n = 400
        let names = (0..<n).map { String(format: "c%04d", $0) }
        var g = ClusterGraph()
        var truth = Truth()
        var reported: [String: String] = [:]
        for i in 0..<(n - 1) {
            g.edgeAppeared(names[i], names[i + 1])
            truth.edges.insert(OraclePair(names[i], names[i + 1]))
        }
        truth.present = Set(names)
        XCTAssertTrue(check(&g, &reported, truth, "chain"))
        XCTAssertEqual(Set(reported.values), ["c0000"])
        // Break in the middle: the upper half gets its own smallest member as id.
        g.edgeDisappeared(names[199], names[200])
        truth.edges.remove(OraclePair(names[199], names[200]))
        let changes = g.settle()
        XCTAssertEqual(changes.count, 200, "exactly the upper half changes")
        for (c, id) in changes { reported[c] = id }
        XCTAssertEqual(reported, truth.assignments())
        XCTAssertEqual(reported[names[399]], "c0200")
        XCTAssertEqual(reported[names[199]], "c0000")
        // Break the lower half near its start: the smallest member splits off alone.
        g.edgeDisappeared(names[0], names[1])
        truth.edges.remove(OraclePair(names[0], names[1]))
        XCTAssertTrue(check(&g, &reported, truth, "second break"))
        XCTAssertEqual(reported[names[150]], "c0001")
        // Rejoin everything: an edge across the ends and the middle edge again.
        g.edgeAppeared(names[399], names[0])
        truth.edges.insert(OraclePair(names[399], names[0]))
        XCTAssertTrue(check(&g, &reported, truth, "ends joined"))
        XCTAssertEqual(Set(reported.values), ["c0000", "c0001"])
        g.edgeAppeared(names[200], names[199])
        truth.edges.insert(OraclePair(names[199], names[200]))
        XCTAssertTrue(check(&g, &reported, truth, "rejoined"))
        XCTAssertEqual(Set(reported.values), ["c0000"])
        // Removing the middle concept (with its edges) splits again.
        g.edgeDisappeared(names[100], names[101])
        g.edgeDisappeared(names[99], names[100])
        g.conceptDisappeared(names[100])
        truth.edges.remove(OraclePair(names[100], names[101]))
        truth.edges.remove(OraclePair(names[99], names[100]))
        truth.present.remove(names[100])
        XCTAssertTrue(check(&g, &reported, truth, "middle concept gone"))
        XCTAssertNil(reported[names[100]])
    }

    func testMinIDRelabellingWhenASmallerConceptJoins() {
        var g = ClusterGraph()
        var reported: [String: String] = [:]
        var truth = Truth()
        for (a, b) in [("m", "n"), ("n", "o"), ("x", "y")] {
            g.edgeAppeared(a, b)
            truth.edges.insert(OraclePair(a, b))
        }
        truth.present = ["m", "n", "o", "x", "y"]
        XCTAssertTrue(check(&g, &reported, truth, "start"))
        XCTAssertEqual(reported["o"], "m")
        // A smaller concept joins the small side of a union: everyone is relabelled.
        g.conceptAppeared("b")
        g.edgeAppeared("b", "y")
        truth.present.insert("b")
        truth.edges.insert(OraclePair("b", "y"))
        XCTAssertTrue(check(&g, &reported, truth, "b joins x-y"))
        XCTAssertEqual(reported["x"], "b")
        g.edgeAppeared("o", "x")  // {m,n,o} (bigger) absorbs {b,x,y} whose min is smaller
        truth.edges.insert(OraclePair("o", "x"))
        let changes = Dictionary(uniqueKeysWithValues: g.settle().map { ($0.concept, $0.cluster) })
        XCTAssertEqual(changes, ["m": "b", "n": "b", "o": "b"], "only the relabelled members are reported")
        for (c, id) in changes { reported[c] = id }
        XCTAssertEqual(reported, truth.assignments())
        // Non-ASCII sorts after ASCII: "é" joining does not relabel; "B"-less "a" does.
        g.edgeAppeared("é", "m")
        truth.edges.insert(OraclePair("é", "m"))
        truth.present.insert("é")
        XCTAssertTrue(check(&g, &reported, truth, "é joins"))
        XCTAssertEqual(reported["é"], "b")
        g.edgeAppeared("a", "é")
        truth.edges.insert(OraclePair("a", "é"))
        truth.present.insert("a")
        XCTAssertTrue(check(&g, &reported, truth, "a joins"))
        XCTAssertEqual(Set(reported.values), ["a"])
        // The minimum leaves: the next smallest becomes the id.
        g.edgeDisappeared("a", "é")
        g.conceptDisappeared("a")
        truth.edges.remove(OraclePair("a", "é"))
        truth.present.remove("a")
        XCTAssertTrue(check(&g, &reported, truth, "a leaves"))
        XCTAssertEqual(Set(reported.values), ["b"])
    }

    func testConceptDisappearingWithEdgesStillAttached() {
        var g = ClusterGraph()
        var reported: [String: String] = [:]
        var truth = Truth()
        // A star around "a": removing the hub splits every leaf off.
        for leaf in ["b", "c", "d", "e"] {
            g.edgeAppeared("a", leaf)
            truth.edges.insert(OraclePair("a", leaf))
            truth.present.insert(leaf)
        }
        truth.present.insert("a")
        XCTAssertTrue(check(&g, &reported, truth, "star"))
        g.conceptDisappeared("a")
        truth.present.remove("a")
        truth.edges.removeAll()
        XCTAssertTrue(check(&g, &reported, truth, "hub gone"))
        XCTAssertEqual(reported, ["b": "b", "c": "c", "d": "d", "e": "e"])
        // It comes back, unconnected, then reconnected.
        g.conceptAppeared("a")
        truth.present.insert("a")
        XCTAssertTrue(check(&g, &reported, truth, "hub back alone"))
        g.edgeAppeared("e", "a")
        truth.edges.insert(OraclePair("a", "e"))
        XCTAssertTrue(check(&g, &reported, truth, "hub reconnected"))
        XCTAssertEqual(reported["e"], "a")
    }

    func testLoadedGraphReportsOnlyDifferencesFromStoredAssignments() {
        var g = ClusterGraph()
        g.assumeStored("a", cluster: "a")
        g.assumeStored("b", cluster: "a")
        g.assumeStored("c", cluster: "c")
        for c in ["a", "b", "c"] { g.conceptAppeared(c) }
        g.edgeAppeared("b", "c")
        let changes = Dictionary(uniqueKeysWithValues: g.settle().map { ($0.concept, $0.cluster) })
        XCTAssertEqual(changes, ["b": "b", "c": "b"])
    }

    func testFullClusteringMatchesTheOracle() {
        for seed in UInt64(1)...30 {
            var rng = OracleRNG(seed: seed)
            let theta = Int32(rng.int(1...3))
            var concepts: [String: Int32] = [:]
            var edges: [(a: String, b: String, counts: EdgeCounts)] = []
            var truth = Truth()
            let vocab = (0..<rng.int(2...15)).map { "k\($0)" } + ["ß", "Ä"]
            for c in vocab where rng.chance(0.8) {
                concepts[c] = Int32(rng.int(1...4))
                truth.present.insert(c)
            }
            let present = OracleOrder.sorted(truth.present)
            for i in 0..<present.count {
                for j in (i + 1)..<max(i + 1, present.count) where rng.chance(0.2) {
                    let counts = EdgeCounts(co: Int32(rng.int(0...3)), dep: Int32(rng.chance(0.3) ? 1 : 0))
                    if counts.co == 0 && counts.dep == 0 { continue }
                    edges.append((present[i], present[j], counts))
                    if counts.co >= theta || counts.dep >= 1 { truth.edges.insert(OraclePair(present[i], present[j])) }
                }
            }
            let got = FullClustering.assignments(ConceptGraphSnapshot(concepts: concepts, edges: edges), theta: theta)
            XCTAssertEqual(got, truth.assignments(), "seed \(seed)")
        }
    }
}

extension OracleRNG: RandomNumberGenerator {}
