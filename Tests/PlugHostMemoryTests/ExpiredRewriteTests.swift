import Dispatch
import Foundation
import Synchronization
import XCTest

import PlugHostTestSupport
@testable import PlugHost
@testable import PlugHostCore
@testable import PlugHostMemory
@testable import PlugHostSQLite
@testable import PlugHostPostgres
@testable import PlugHostPipeline
@testable import PlugHostTools

// Issue 12: Rewriting an expired id that was not swept yet.

final class ExpiredRewriteTests: XCTestCase {
    /// Ids whose TTL ran out but that were not swept yet are written again, in commits that
    /// also hold earlier writes of the new goal: into another goal (the delete and the insert
    /// in different engine batches), two ids swapping goals (a cycle), and into the same goal.
    /// Every engine, both paths, against the oracle; then again from a fresh service.
    func testRewritingAnExpiredIDAlwaysDeletesBeforeItInserts() throws {
        try forEachKind(self) { kind in
            for optimized in [true, false] {
                let what = "\(kind) \(optimized ? "optimized" : "baseline")"
                let store = try TestStore.fresh(kind, for: self)
                let clock = ManualClock(start: 1_000_000)
                let s = try store.service(optimized: optimized, clock: clock)
                let oracle = Oracle()
                func write(_ ws: [MemoryWrite]) {
                    for (w, r) in zip(ws, s.write(ws)) {
                        guard case .success(let id) = r else { return XCTFail("\(what): \(r)") }
                        XCTAssertEqual(id, w.id, what)
                        oracle.sweep(now: clock.now())
                        XCTAssertNil(oracle.write(w, id: w.id!, now: clock.now()), what)
                    }
                }
                func m(_ id: String, _ goal: String, _ concepts: [String], ttl: Int64? = nil, _ content: String = "") -> MemoryWrite {
                    MemoryWrite(
                        goal: goal, plugin: "p", id: id, content: content.isEmpty ? "\(id) in \(goal)" : content, concepts: concepts,
                        ttlMilliseconds: ttl)
                }
                write([
                    m("x", "g1", ["a", "b"], ttl: 300), m("keep1", "g1", ["a", "b"]),
                    m("u", "g1", ["e", "f"], ttl: 300), m("v", "g2", ["p", "q"], ttl: 300), m("keep2", "g2", ["p", "q"]),
                    m("w", "g1", ["h", "i"], ttl: 300), m("keep3", "g1", ["h", "i"]),
                ])
                // Past the TTLs, within the same second: no write sweeps them first.
                clock.advance(0.5)
                XCTAssertNil(try s.memory(id: "x"), "\(what): expired")
                // Into another goal, after a write of that goal in the same commit.
                write([m("e1", "g2", ["r", "s"]), m("x", "g2", ["r", "s"], "x again")])
                // Two ids swapping goals in one commit.
                write([
                    m("f1", "g1", ["t", "p"]), m("v", "g1", ["t", "p"], "v again"), m("f2", "g2", ["e", "z"]),
                    m("u", "g2", ["e", "z"], "u again"),
                ])
                // Into the same goal.
                write([m("f3", "g1", ["h", "j"]), m("w", "g1", ["h", "j"], "w again")])
                for (id, goal) in [("x", "g2"), ("v", "g1"), ("u", "g2"), ("w", "g1")] {
                    let got = try s.memory(id: id)
                    XCTAssertEqual(got?.goal, goal, "\(what): \(id)")
                    XCTAssertEqual(got?.content, "\(id) again", "\(what): \(id)")
                }
                try s.flush()
                let now = clock.now()
                let want = OracleJSON.json(oracle.clusters(now: now))
                XCTAssertEqual(oracleText(try clusterBytes(s)), want, what)
                for goal in ["g1", "g2"] {
                    XCTAssertEqual(
                        engineCountsText(try s.engine.conceptGraph(goal: goal)), oracle.countsText(goal: goal, now: now), "\(what) \(goal)")
                }
                XCTAssertEqual(try s.verifyClusters(), [], what)
                XCTAssertEqual(s.stats.writes, 15, "\(what): every write counted once")
                XCTAssertEqual(s.stats.forgets, 4, "\(what): each expired memory swept once")
                try store.finish(s)
                let fresh = try store.service(optimized: true, clock: clock)
                try fresh.flush()
                XCTAssertEqual(oracleText(try clusterBytes(fresh)), want, "\(what): reopened")
                let ids = try allStoredMemories(fresh.engine).map(\.id)
                XCTAssertEqual(ids.sorted(), ["e1", "f1", "f2", "f3", "keep1", "keep2", "keep3", "u", "v", "w", "x"], what)
                try store.finish(fresh)
            }
        }
    }

    /// The batcher's rule on its own: a forget of an id a write of the same plan inserts again
    /// comes in a batch before every insert, whatever the goals' order.
    func testTheBatcherPutsAReinsertedIDsDeleteFirst() {
        func mem(_ id: String, _ goal: String, _ cs: [String]) -> Memory {
            Memory(id: id, goal: goal, plugin: "p", content: "", concepts: cs, dependsOn: [], metadata: nil, createdAt: 0, expiresAt: nil)
        }
        let plan = DependencyBatcher().plan([
            .write(mem("n", "B", ["k"])), .forget(mem("x", "A", ["a"])), .write(mem("x", "B", ["k", "l"])),
            .forget(mem("y", "B", ["m"])), .write(mem("y", "A", ["a"])), .forget(mem("z", "A", ["a"])),
        ])
        var deleted = Set<String>()
        for b in plan {
            for id in b.batch.inserts.map(\.id) where ["x", "y"].contains(id) {
                XCTAssertTrue(
                    deleted.contains(id),
                    "\(id) inserted before its delete: \(plan.map { ($0.batch.goal, $0.batch.deletes, $0.batch.inserts.map(\.id)) })")
            }
            deleted.formUnion(b.batch.deletes)
        }
        XCTAssertEqual(plan.count, 4, "leading batches of A and B, then A and B")
        XCTAssertEqual(plan[0].batch.deletes + plan[1].batch.deletes, ["x", "y"])
        XCTAssertEqual(plan.flatMap(\.batch.deletes).filter { $0 == "z" }, ["z"], "other forgets stay with their goal")
    }
}
