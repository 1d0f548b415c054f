import Foundation
import XCTest

import PlugHostTestSupport
@testable import PlugHostCore
@testable import PlugHostMemory

/// Idempotent writes (docs/memory-model.md, "A write"): a write without a caller-given id equal
/// to a live memory returns its id and changes nothing, on both paths, against the oracle.
final class IdempotentWriteTests: XCTestCase {
    private func w(
        _ content: String, concepts: [String] = ["a", "b"], deps: [Dependency] = [], metadata: String? = nil, id: String? = nil,
        ttl: Int64? = nil, plugin: String = "p"
    ) -> MemoryWrite {
        MemoryWrite(
            goal: "g", plugin: plugin, id: id, content: content, concepts: concepts, dependsOn: deps, metadata: metadata,
            ttlMilliseconds: ttl)
    }

    /// Every case on both paths, submitted one by one and as one many-writes submission, with the
    /// oracle deciding which writes are the same memory.
    func testEqualWritesWithoutIdsAreOneMemory() throws {
        for optimized in [true, false] {
            for batched in [false, true] {
                let what = "optimized \(optimized), batched \(batched)"
                let clock = ManualClock()
                let s = try makeMemoryService(optimized: optimized, clock: clock)
                let oracle = Oracle()
                let writes = [
                    w("x", concepts: [" A ", "b"]),
                    w("x", concepts: ["b", "a"]),  // the same concept set, normalised
                    w("x", concepts: ["a", "b"], metadata: "{\"k\": 1, \"j\": [true]}"),
                    w("x", concepts: ["a", "b"], metadata: "{\"j\":[true],\"k\":1}"),  // the same metadata, canonical
                    w("x", concepts: ["a"], deps: [Dependency("a", "b"), Dependency("c", "a")]),
                    w("x", concepts: ["a"], deps: [Dependency("c", "a"), Dependency("a", "b")]),  // pairs in another order
                    w("x", concepts: ["a"], deps: [Dependency("b", "a"), Dependency("c", "a")]),  // another direction
                    w("x", concepts: ["a", "b"], ttl: 60_000),  // only the TTL differs: the first memory
                    w("x", concepts: ["a", "b"], plugin: "q"),
                    w("e\u{301}", concepts: ["a", "b"]),
                    w("\u{e9}", concepts: ["a", "b"]),  // canonically equivalent, other bytes: another memory
                    w("x", concepts: ["a", "b"], id: "given"),  // a caller id: stored again
                    w("x", concepts: ["a", "b"]),
                ]
                var expected: [String?] = []
                var logical = 0
                for x in writes {
                    let same = x.id == nil ? oracle.sameContent(as: x, now: clock.now()) : nil
                    logical += 1
                    let id = x.id ?? "h\(logical)"
                    XCTAssertNil(oracle.write(x, id: id, now: clock.now()), what)
                    expected.append(same)
                }
                let ids: [String] =
                    batched
                    ? try s.write(writes).map { try $0.get() }
                    : try writes.map { try s.write($0) }
                // Ids by position: a write the oracle deduplicated returns the id of the write it equals.
                var oracleToActual: [String: String] = [:]
                for (i, x) in writes.enumerated() {
                    let logicalID = x.id ?? "h\(i + 1)"
                    if let same = expected[i] {
                        XCTAssertEqual(ids[i], oracleToActual[same], "\(what): write \(i) is the memory of \(same)")
                    } else {
                        XCTAssertNil(oracleToActual.values.first { $0 == ids[i] }, "\(what): write \(i) is a new memory")
                        oracleToActual[logicalID] = ids[i]
                    }
                }
                XCTAssertEqual(expected.compactMap { $0 }.count, 5, what)
                let stats = s.stats
                XCTAssertEqual(stats.deduplicated, 5, what)
                XCTAssertEqual(stats.writes, writes.count - 5, what)
                XCTAssertEqual(try s.memory(id: ids[7])?.expiresAt, nil, "\(what): a repeated write does not set a TTL")
                try s.flush()
                XCTAssertEqual(
                    oracleText(try clusterBytes(s)), OracleJSON.json(oracle.clusters(now: clock.now())), what)
                XCTAssertEqual(try s.recall(goal: "g", .concept("a"), limit: 100).count, writes.count - 5, what)
            }
        }
    }

    /// A repeated write changes nothing: counts, clusters, the working set and the stats' writes.
    func testRepeatChangesNothing() throws {
        for optimized in [true, false] {
            let clock = ManualClock()
            let engine = InMemoryEngine()
            let s = try makeMemoryService(optimized: optimized, clock: clock, engine: engine)
            let first = try s.write(w("note", concepts: ["a", "b", "c"]))
            try s.flush()
            let graph = try engine.conceptGraph(goal: "g")
            let clusters = try clusterBytes(s)
            let context = try s.context(goal: "g", plugin: "p")
            for _ in 0..<3 { XCTAssertEqual(try s.write(w("note", concepts: ["c", "b", "a"])), first) }
            try s.flush()
            XCTAssertEqual(try engine.conceptGraph(goal: "g").concepts, graph.concepts)
            XCTAssertEqual(try engine.conceptGraph(goal: "g").edges.count, graph.edges.count)
            XCTAssertEqual(try clusterBytes(s), clusters)
            XCTAssertEqual(try s.context(goal: "g", plugin: "p").recent, context.recent)
            XCTAssertEqual(s.stats.writes, 1)
            XCTAssertEqual(s.stats.deduplicated, 3)
        }
    }

    /// An expired memory that was not swept yet is not live: an equal write stores a new one
    /// (the expired one is swept in the same commit), and a forgotten one is not found.
    func testExpiredAndForgottenMemoriesAreNotLive() throws {
        for optimized in [true, false] {
            let clock = ManualClock()
            let s = try makeMemoryService(optimized: optimized, clock: clock)
            let old = try s.write(w("x", ttl: 1000))
            clock.advance(2)
            let new = try s.write(w("x"))
            XCTAssertNotEqual(new, old)
            XCTAssertNil(try s.memory(id: old))
            XCTAssertEqual(try s.recall(goal: "g", .concept("a"), limit: 10).map(\.memory.id), [new])
            XCTAssertEqual(try s.write(w("x")), new)
            XCTAssertTrue(try s.forget(id: new))
            let third = try s.write(w("x"))
            XCTAssertNotEqual(third, new)
            try s.flush()
            XCTAssertEqual(try s.verifyClusters(), [])
        }
    }

    /// Caller-given ids keep their rules; a write without one returns the oldest live equal memory.
    func testCallerIdsKeepTheirRulesAndTheOldestIsReturned() throws {
        for optimized in [true, false] {
            let s = try makeMemoryService(optimized: optimized, clock: ManualClock())
            XCTAssertEqual(try s.write(w("x", id: "one")), "one")
            XCTAssertEqual(try s.write(w("x", id: "two")), "two")
            XCTAssertThrowsError(try s.write(w("x", id: "one")))
            XCTAssertEqual(try s.write(w("x")), "one")
            XCTAssertTrue(try s.forget(id: "one"))
            XCTAssertEqual(try s.write(w("x")), "two")
        }
    }

    /// Two equal writes in one group commit (one many-writes submission, and a write and a forget
    /// of it in between) give what the oracle gives.
    func testEqualWritesInOneCommit() throws {
        let s = try makeMemoryService(optimized: true, clock: ManualClock())
        let r = s.write([w("x"), w("y"), w("x"), w("x", id: "c"), w("y")]).map { try? $0.get() }
        XCTAssertEqual(r[0], r[2])
        XCTAssertEqual(r[1], r[4])
        XCTAssertEqual(r[3], "c")
        XCTAssertEqual(Set(r.compactMap { $0 }).count, 3)
        XCTAssertEqual(s.stats.deduplicated, 2)
        XCTAssertEqual(try s.recall(goal: "g", .concept("a"), limit: 10).count, 3)
    }

    /// The engine refuses a second memory of one content among host-assigned ids (what a
    /// second process would meet), storing nothing of the transaction.
    func testEngineKeepsOneHostAssignedMemoryPerContent() throws {
        let engine = InMemoryEngine()
        try assertOneHostAssignedMemoryPerContent(engine, engine)
    }

    /// The digest's stored format, pinned by a value computed outside Swift (Python's hashlib
    /// over the encoding ``MemoryDigest`` documents), so that a change of encoding fails here.
    func testDigestStoredFormat() {
        let m = Memory(
            id: "1", goal: "g", plugin: "p", content: "c", concepts: ["a", "b"], dependsOn: [Dependency("a", "b"), Dependency("b", "a")],
            metadata: "{\"y\": 1, \"x\": 2}", createdAt: 1, expiresAt: nil)
        var other = m
        other.id = "2"
        other.dependsOn.reverse()
        other.metadata = "{\"x\":2,\"y\":1}"
        other.expiresAt = 5
        XCTAssertEqual(MemoryDigest(of: m).hex, "6af6659e175f6d1fac2ed193fe0a7681409f015d999e7777a72d95fee3af3a0a")
        XCTAssertEqual(MemoryDigest(of: m), MemoryDigest(of: other))
        XCTAssertTrue(m.hasSameContent(as: other))
        other.content = "C"
        XCTAssertNotEqual(MemoryDigest(of: m), MemoryDigest(of: other))
        XCTAssertFalse(m.hasSameContent(as: other))
    }

    /// θ: range checked; the first service over an engine stores it; a later one with another
    /// explicit θ is refused naming both; one without uses the stored one.
    func testThetaIsStoredWithTheMemory() throws {
        let engine = InMemoryEngine()
        var c = MemoryConfiguration()
        c.theta = 0
        XCTAssertThrowsError(try MemoryService(engine: engine, configuration: c)) { e in
            XCTAssertTrue("\(e)".contains("theta must be at least 1 (got 0)"), "\(e)")
        }
        c.theta = 3
        _ = try MemoryService(engine: engine, configuration: c)
        c.theta = 2
        XCTAssertThrowsError(try MemoryService(engine: engine, configuration: c)) { e in
            XCTAssertTrue("\(e)".contains("theta is 2 here") && "\(e)".contains("created with theta 3"), "\(e)")
        }
        let unset = try MemoryService(engine: engine, configuration: MemoryConfiguration())
        XCTAssertEqual(unset.configuration.theta, 3)
    }
}
