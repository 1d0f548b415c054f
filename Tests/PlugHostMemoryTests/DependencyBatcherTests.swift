import Foundation
import XCTest

import PlugHostTestSupport
@testable import PlugHost
@testable import PlugHostCore
@testable import PlugHostMemory
@testable import PlugHostSQLite
@testable import PlugHostPostgres
@testable import PlugHostPipeline
@testable import PlugHostTools

/// Direct tests of `DependencyBatcher`: one batch per goal, each edge once per batch (edge
/// operation counts), dependency groups and order, merged counts, forgets of re-inserted ids.
final class DependencyBatcherTests: XCTestCase {
    /// The one place that knows how the batcher is built and asked for a plan.
    func plan(_ ops: [PlannedOp]) -> [PlannedBatch] { DependencyBatcher().plan(ops) }

    func mem(_ id: String, goal: String = "g", concepts: [String], deps: [Dependency] = []) -> Memory {
        Memory(
            id: id, goal: goal, plugin: "p", content: "", concepts: concepts.sorted(by: ConceptKey.precedes),
            dependsOn: deps, metadata: nil, createdAt: 1, expiresAt: nil)
    }

    func edges(_ b: EngineBatch) -> [String: EdgeCounts] {
        var out: [String: EdgeCounts] = [:]
        for e in b.edges {
            XCTAssertTrue(ConceptKey.precedes(e.a, e.b), "\(e.a)|\(e.b) in order")
            XCTAssertNil(out["\(e.a)|\(e.b)"], "edge \(e.a)|\(e.b) touched more than once in one batch")
            out["\(e.a)|\(e.b)"] = EdgeCounts(co: e.co, dep: e.dep)
        }
        return out
    }

    func concepts(_ b: EngineBatch) -> [String: Int32] {
        var out: [String: Int32] = [:]
        for c in b.concepts {
            XCTAssertNil(out[c.concept], "concept \(c.concept) more than once in one batch")
            out[c.concept] = c.delta
        }
        return out
    }

    // MARK: - Shape

    func testEmptyAndSingleOperation() {
        XCTAssertTrue(plan([]).isEmpty)
        let m = mem("m", concepts: ["a", "b", "c"], deps: [Dependency("c", "a")])
        let w = plan([.write(m)])
        XCTAssertEqual(w.count, 1)
        XCTAssertEqual(w[0].batch.inserts, [m])
        XCTAssertEqual(w[0].batch.deletes, [])
        XCTAssertEqual(concepts(w[0].batch), ["a": 1, "b": 1, "c": 1])
        XCTAssertEqual(
            edges(w[0].batch), ["a|b": EdgeCounts(co: 1, dep: 0), "a|c": EdgeCounts(co: 1, dep: 1), "b|c": EdgeCounts(co: 1, dep: 0)])
        XCTAssertEqual(w[0].unbatchedEdgeOps, 3)
        XCTAssertEqual([w[0].writes, w[0].forgets], [1, 0])
        let f = plan([.forget(m)])
        XCTAssertEqual(f[0].batch.inserts, [])
        XCTAssertEqual(f[0].batch.deletes, ["m"])
        XCTAssertEqual(concepts(f[0].batch), ["a": -1, "b": -1, "c": -1])
        XCTAssertEqual(
            edges(f[0].batch), ["a|b": EdgeCounts(co: -1, dep: 0), "a|c": EdgeCounts(co: -1, dep: -1), "b|c": EdgeCounts(co: -1, dep: 0)])
        XCTAssertEqual([f[0].writes, f[0].forgets], [0, 1])
    }

    func testOneBatchPerGoalInOrderOfFirstAppearance() {
        let ops: [PlannedOp] = [
            .write(mem("h1", goal: "h", concepts: ["a"])), .write(mem("g1", concepts: ["a"])),
            .write(mem("h2", goal: "h", concepts: ["b"])), .write(mem("k1", goal: "k", concepts: ["a"])),
            .write(mem("g2", concepts: ["z"])),
        ]
        let p = plan(ops)
        XCTAssertEqual(p.map(\.batch.goal), ["h", "g", "k"])
        XCTAssertEqual(p.map { $0.batch.inserts.map(\.id) }, [["h1", "h2"], ["g1", "g2"], ["k1"]], "arrival order within a goal")
        XCTAssertEqual(p.map(\.writes), [2, 2, 1])
        for b in p { XCTAssertTrue(b.batch.inserts.allSatisfy { $0.goal == b.batch.goal }) }
    }

    // MARK: - Each edge once per batch

    /// Many writes sharing concepts: every concept and edge appears once in the batch, with
    /// the sum of the writes' changes; the edge operations saved are counted.
    func testEachEdgeOnceWithSummedCounts() {
        var rng = SplitMix64(seed: 5)
        let vocabulary = ["a", "b", "c", "d", "e", "f"]
        var ms: [Memory] = []
        for i in 0..<60 {
            var cs = Set<String>()
            for _ in 0..<(2 + Int(rng.next() % 3)) { cs.insert(vocabulary[Int(rng.next() % 6)]) }
            let sorted = cs.sorted(by: ConceptKey.precedes)
            let deps = sorted.count > 1 && i % 3 == 0 ? [Dependency(sorted[1], sorted[0]), Dependency(sorted[0], sorted[1])] : []
            ms.append(mem("m\(i)", concepts: Array(cs), deps: deps))
        }
        let p = plan(ms.map { .write($0) })
        XCTAssertEqual(p.count, 1)
        let b = p[0]
        // Brute force: per memory, each pair once for co, each dependency pair once for dep.
        var wantEdges: [String: EdgeCounts] = [:]
        var wantConcepts: [String: Int32] = [:]
        var pairs = 0
        for m in ms {
            for c in m.concepts { wantConcepts[c, default: 0] += 1 }
            for i in m.concepts.indices {
                for j in m.concepts.indices where i < j {
                    wantEdges["\(m.concepts[i])|\(m.concepts[j])", default: EdgeCounts(co: 0, dep: 0)].co += 1
                    pairs += 1
                }
            }
            if let d = m.dependsOn.first {
                let (a, z) = ConceptKey.precedes(d.from, d.to) ? (d.from, d.to) : (d.to, d.from)
                wantEdges["\(a)|\(z)", default: EdgeCounts(co: 0, dep: 0)].dep += 1  // a→b and b→a: one pair
            }
        }
        XCTAssertEqual(edges(b.batch), wantEdges)
        XCTAssertEqual(concepts(b.batch), wantConcepts)
        XCTAssertEqual(b.unbatchedEdgeOps, pairs, "what one write per commit would have written")
        XCTAssertLessThan(b.batch.edges.count, b.unbatchedEdgeOps, "the batch writes fewer edge rows")
        XCTAssertLessThanOrEqual(b.batch.edges.count, 15, "at most the vocabulary's pairs")
        XCTAssertEqual(b.batch.inserts.count, 60)
    }

    /// A write and a forget that cancel out leave neither concept nor edge in the batch.
    func testCancellingChangesAreDropped() {
        let old = mem("old", concepts: ["a", "b"], deps: [Dependency("a", "b")])
        let new = mem("new", concepts: ["a", "b", "c"])
        let p = plan([.forget(old), .write(new)])
        XCTAssertEqual(p.count, 1)
        XCTAssertEqual(p[0].batch.deletes, ["old"])
        XCTAssertEqual(p[0].batch.inserts.map(\.id), ["new"])
        XCTAssertEqual(concepts(p[0].batch), ["c": 1])
        XCTAssertEqual(
            edges(p[0].batch), ["a|b": EdgeCounts(co: 0, dep: -1), "a|c": EdgeCounts(co: 1, dep: 0), "b|c": EdgeCounts(co: 1, dep: 0)])
        XCTAssertEqual([p[0].writes, p[0].forgets], [1, 1])
    }

    // MARK: - Dependency groups and order

    func testDependencyGroups() {
        let ops: [PlannedOp] = [
            .write(mem("1", concepts: ["a", "b"])), .write(mem("2", concepts: ["b", "c"])),
            .write(mem("3", concepts: ["d"])), .write(mem("4", concepts: ["e", "f"], deps: [Dependency("e", "f")])),
            .write(mem("5", concepts: ["c", "x"])), .write(mem("6", goal: "h", concepts: ["a"])),
        ]
        XCTAssertEqual(DependencyBatcher().dependencyGroups(Array(ops[0..<5])), 3, "{a,b,c,x}, {d}, {e,f}")
        XCTAssertEqual(DependencyBatcher().dependencyGroups(Array(ops[2..<4])), 2)
        let p = plan(ops)
        XCTAssertEqual(p.map(\.groups), [3, 1])
    }

    /// A write depending on a concept comes after the writes that introduce it (Kahn's order,
    /// seeded in arrival order); a cycle keeps arrival order.
    func testDependentWritesFollowTheirIntroducers() {
        let needsX = mem("needsX", concepts: ["x", "y"], deps: [Dependency("y", "x")])
        let introX = mem("introX", concepts: ["x"])
        let other = mem("other", concepts: ["q"])
        XCTAssertEqual(plan([.write(needsX), .write(other), .write(introX)])[0].batch.inserts.map(\.id), ["other", "introX", "needsX"])
        XCTAssertEqual(plan([.write(introX), .write(needsX), .write(other)])[0].batch.inserts.map(\.id), ["introX", "other", "needsX"])
        // A chain a→b→c written backwards comes out forwards.
        let c = mem("c", concepts: ["c"])
        let bc = mem("b", concepts: ["b", "c"], deps: [Dependency("b", "c")])
        let ab = mem("a", concepts: ["a", "b"], deps: [Dependency("a", "b")])
        XCTAssertEqual(plan([.write(ab), .write(bc), .write(c)])[0].batch.inserts.map(\.id), ["c", "b", "a"])
        // A cycle: arrival order.
        let p = mem("p", concepts: ["a", "b"], deps: [Dependency("a", "b")])
        let q = mem("q", concepts: ["a", "b"], deps: [Dependency("b", "a")])
        XCTAssertEqual(plan([.write(p), .write(q)])[0].batch.inserts.map(\.id), ["p", "q"])
    }

    // MARK: - Forgets of re-inserted ids

    /// A forget of an id that the same plan writes again goes into a leading batch, before the
    /// goal batches, even when the write's goal appears first.
    func testForgetOfAReinsertedIDLeads() {
        let expired = mem("x", goal: "h", concepts: ["old"])
        let rewrite = mem("x", goal: "g", concepts: ["new"])
        let p = plan([
            .write(mem("g0", concepts: ["new"])), .write(rewrite), .forget(expired), .forget(mem("y", goal: "g", concepts: ["new"])),
        ])
        XCTAssertEqual(p.map(\.batch.goal), ["h", "g"])
        XCTAssertEqual(p[0].batch.deletes, ["x"])
        XCTAssertEqual(p[0].batch.inserts, [])
        XCTAssertEqual(concepts(p[0].batch), ["old": -1])
        XCTAssertEqual(p[1].batch.inserts.map(\.id), ["g0", "x"])
        XCTAssertEqual(p[1].batch.deletes, ["y"], "other forgets stay with their goal")
        // Without a re-insert, forgets stay with their goal.
        let q = plan([.write(mem("g0", concepts: ["new"])), .forget(expired)])
        XCTAssertEqual(q.map(\.batch.goal), ["g", "h"])
    }

    // MARK: - Against an engine

    /// Applying the plan of a random mix gives the same graph as applying the operations one
    /// at a time.
    func testPlanAppliesLikeOneOperationAtATime() throws {
        var rng = SplitMix64(seed: 9)
        var live: [Memory] = []
        var chunks: [[PlannedOp]] = []
        var i = 0
        for _ in 0..<8 {
            // Forgets name memories stored by earlier commits (as the write path resolves them).
            var eligible = live
            var chunk: [PlannedOp] = []
            for _ in 0..<37 {
                i += 1
                if !eligible.isEmpty && rng.next() % 4 == 0 {
                    let m = eligible.remove(at: Int(rng.next() % UInt64(eligible.count)))
                    live.removeAll { $0.id == m.id }
                    chunk.append(.forget(m))
                    continue
                }
                let cs = Array(Set((0..<(1 + Int(rng.next() % 4))).map { _ in "c\(rng.next() % 12)" }))
                let sorted = cs.sorted(by: ConceptKey.precedes)
                let deps = sorted.count > 1 && rng.next() % 3 == 0 ? [Dependency(sorted[0], sorted[1])] : []
                let m = mem("m\(i)", goal: ["g", "h"][Int(rng.next() % 2)], concepts: cs, deps: deps)
                live.append(m)
                chunk.append(.write(m))
            }
            chunks.append(chunk)
        }
        let batched = InMemoryEngine(), single = InMemoryEngine()
        for chunk in chunks {
            _ = try batched.apply(plan(chunk).map(\.batch))
            for op in chunk { _ = try single.apply([DependencyBatcher().single(op).batch]) }
        }
        for goal in ["g", "h"] {
            let a = try batched.conceptGraph(goal: goal), b = try single.conceptGraph(goal: goal)
            XCTAssertEqual(a.concepts, b.concepts, goal)
            XCTAssertEqual(
                Set(a.edges.map { "\($0.a)|\($0.b)=\($0.counts.co),\($0.counts.dep)" }),
                Set(b.edges.map { "\($0.a)|\($0.b)=\($0.counts.co),\($0.counts.dep)" }), goal)
            XCTAssertFalse(a.concepts.isEmpty)
        }
        XCTAssertEqual(Set(try batched.existingMemories(live.map(\.id)).keys), Set(live.map(\.id)))
    }
}
