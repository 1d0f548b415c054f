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

/// The memory model, case by case, on both paths (eager baseline and optimized), checked
/// against the oracle.
final class MemoryModelTests: XCTestCase {
    private func bothPaths(_ body: (MemoryService, ManualClock, String) throws -> Void) throws {
        for optimized in [false, true] {
            let clock = ManualClock()
            try body(try makeMemoryService(optimized: optimized, clock: clock), clock, optimized ? "optimized" : "eager")
        }
    }

    private func clusterSets(_ s: MemoryService, _ goal: String) throws -> [[String]] {
        try s.clusters(goal: goal).first?.clusters.map(\.concepts) ?? []
    }

    // MARK: - Concept keys

    func testConceptKeyNormalisation() {
        let cases: [(String, String)] = [
            ("Café", "café"),
            ("cafe\u{0301}", "café"),
            ("CAFE\u{0301}", "café"),
            ("  B   c ", "b c"),
            ("b\tc", "b c"),
            ("B\u{00A0}\u{3000} C", "b c"),
            ("ß", "ß"),
            ("SS", "ss"),
            ("A\u{0308}rger", "ärger"),
            ("  \t\n ", ""),
            ("x\"Y\\Z", "x\"y\\z"),
            ("\u{212B}", "å"),  // ANGSTROM SIGN → NFC Å → å
        ]
        for (raw, want) in cases {
            let got = ConceptKey.normalize(raw)
            XCTAssertEqual(Array(got.utf8), Array(want.utf8), "\(raw.debugDescription) → \(got.debugDescription)")
            XCTAssertEqual(Array(OracleKey.key(raw).utf8), Array(want.utf8), "oracle \(raw.debugDescription)")
        }
    }

    func testStoredMemoryHasTheModelsConceptSet() throws {
        try bothPaths { s, _, label in
            let id = try s.write(
                MemoryWrite(
                    goal: "g", plugin: "p", content: "x", concepts: ["Café", "cafe\u{0301}", "  B   c "],
                    dependsOn: [Dependency("ß", "SS"), Dependency("Q", "q "), Dependency("b C", "CAFÉ")]))
            let m = try XCTUnwrap(try s.memory(id: id))
            // "q" only comes from a pair with equal ends: ignored.
            XCTAssertEqual(m.concepts.map { Array($0.utf8) }, ["b c", "café", "ss", "ß"].map { Array($0.utf8) }, label)
            XCTAssertEqual(Set(m.dependsOn), [Dependency("ß", "ss"), Dependency("b c", "café")], label)
        }
    }

    // MARK: - Edges, clusters

    func testEdgeNeedsThetaCoOccurrencesOrOneDependency() throws {
        try bothPaths { s, _, label in
            _ = try s.write(MemoryWrite(goal: "g", plugin: "p", content: "1", concepts: ["a", "b"]))
            try s.flush()
            XCTAssertEqual(try clusterSets(s, "g"), [["a"], ["b"]], "\(label): co = 1 < θ")
            _ = try s.write(MemoryWrite(goal: "g", plugin: "p", content: "2", concepts: ["A", "B "]))
            try s.flush()
            XCTAssertEqual(try clusterSets(s, "g"), [["a", "b"]], "\(label): co = 2 = θ")
            _ = try s.write(MemoryWrite(goal: "g", plugin: "p", content: "3", dependsOn: [Dependency("c", "d")]))
            try s.flush()
            XCTAssertEqual(try clusterSets(s, "g"), [["a", "b"], ["c", "d"]], "\(label): dep = 1")
        }
    }

    func testDependencyBothWaysCountsOncePerMemory() throws {
        try bothPaths { s, _, label in
            _ = try s.write(
                MemoryWrite(
                    goal: "g", plugin: "p", content: "1", dependsOn: [Dependency("a", "b"), Dependency("b", "a"), Dependency("A", "B")]))
            let snap = try s.engine.conceptGraph(goal: "g")
            XCTAssertEqual(snap.edges.count, 1, label)
            XCTAssertEqual(snap.edges.first?.counts, EdgeCounts(co: 1, dep: 1), label)
            // Two in one chunk (one batch): dep 2.
            _ = s.write([
                MemoryWrite(goal: "g", plugin: "p", content: "2", dependsOn: [Dependency("b", "a"), Dependency("a", "b")]),
                MemoryWrite(goal: "g", plugin: "p", content: "3", concepts: ["a"], dependsOn: [Dependency("x", "y")]),
            ])
            let snap2 = try s.engine.conceptGraph(goal: "g")
            let ab = snap2.edges.first { $0.a == "a" && $0.b == "b" }
            XCTAssertEqual(ab?.counts, EdgeCounts(co: 2, dep: 2), label)
        }
    }

    func testForgetSplitsClustersAndGoalsAreSeparate() throws {
        try bothPaths { s, _, label in
            let m1 = try s.write(MemoryWrite(goal: "g", plugin: "p", content: "1", dependsOn: [Dependency("a", "b")]))
            _ = try s.write(MemoryWrite(goal: "g", plugin: "p", content: "2", dependsOn: [Dependency("b", "c")]))
            _ = try s.write(MemoryWrite(goal: "h", plugin: "p", content: "3", dependsOn: [Dependency("c", "d")]))
            try s.flush()
            XCTAssertEqual(try clusterSets(s, "g"), [["a", "b", "c"]], label)
            XCTAssertEqual(try clusterSets(s, "h"), [["c", "d"]], label)
            XCTAssertTrue(try s.forget(id: m1, goal: "g"))
            try s.flush()
            XCTAssertEqual(try clusterSets(s, "g"), [["b", "c"]], "\(label): a no longer held")
            XCTAssertEqual(try s.clusters(goal: "g").first?.clusters.map(\.id), ["b"], label)
        }
    }

    func testClusterIDIsSmallestMemberInUTF8ByteOrder() throws {
        try bothPaths { s, _, label in
            // "z" (7A) < "ß" (C3 9F) < "ä" (C3 A4) < "東" (E6 …); "Z" is lower-cased.
            _ = try s.write(MemoryWrite(goal: "g", plugin: "p", content: "1", dependsOn: [Dependency("東", "ä"), Dependency("ß", "ä")]))
            try s.flush()
            XCTAssertEqual(try s.clusters(goal: "g").first?.clusters.map(\.id), ["ß"], label)
            _ = try s.write(MemoryWrite(goal: "g", plugin: "p", content: "2", dependsOn: [Dependency("Z", "東")]))
            try s.flush()
            // Model 2: the path z–東–ä–ß (each weight 2) splits in two communities (see the commit).
            let cs = try XCTUnwrap(try s.clusters(goal: "g").first?.clusters)
            XCTAssertEqual(cs.map(\.id), ["z", "ß"], label)
            XCTAssertEqual(cs.map(\.concepts), [["z", "東"], ["ß", "ä"]], label)
        }
    }

    func testNonASCIIVariantsAreOneConcept() throws {
        try bothPaths { s, _, label in
            _ = try s.write(MemoryWrite(goal: "g", plugin: "p", content: "1", concepts: ["Café", "  B   c "]))
            _ = try s.write(MemoryWrite(goal: "g", plugin: "p", content: "2", concepts: ["cafe\u{0301}", "b\tC"]))
            try s.flush()
            XCTAssertEqual(try clusterSets(s, "g").map { $0.map { Array($0.utf8) } }, [["b c", "café"].map { Array($0.utf8) }], label)
            XCTAssertEqual(try s.recall(goal: "g", .concept("CAFÉ")).count, 2, label)
        }
    }

    // MARK: - Rejected writes

    func testBadWritesAreRejectedWholeAndNothingIsApplied() throws {
        try bothPaths { s, _, label in
            _ = try s.write(MemoryWrite(goal: "g", plugin: "p", id: "keep", content: "orig", concepts: ["a", "b"]))
            _ = try s.write(MemoryWrite(goal: "g", plugin: "p", content: "2", concepts: ["a", "b"]))
            try s.flush()
            let clustersBefore = Array(CanonicalClusters.json(try s.clusters(goal: "g")).utf8)
            let countsBefore = engineCountsText(try s.engine.conceptGraph(goal: "g"))
            let writesBefore = s.stats.writes
            let long = String(repeating: "k", count: 257)
            let bad: [(MemoryWrite, MemoryError.Code)] = [
                (MemoryWrite(goal: "g", plugin: "p", id: "bad1", content: "x", concepts: ["c", "  \t "]), .invalid),
                (
                    MemoryWrite(
                        goal: "g", plugin: "p", id: "bad2", content: "x", concepts: ["c"], dependsOn: [Dependency("d", "\u{3000}")]),
                    .invalid
                ),
                (MemoryWrite(goal: "g", plugin: "p", id: "bad3", content: "x", concepts: (0..<65).map { "c\($0)" }), .limit),
                (MemoryWrite(goal: "g", plugin: "p", id: "bad4", content: "x", concepts: ["c", long]), .limit),
                (
                    MemoryWrite(goal: "g", plugin: "p", id: "bad5", content: "x", concepts: ["c", String(repeating: "é", count: 129)]),
                    .limit
                ),
                (
                    MemoryWrite(
                        goal: "g", plugin: "p", id: "bad6", content: "x", concepts: ["c"],
                        dependsOn: (0..<65).map { Dependency("x\($0)", "y") }), .limit
                ),
                (MemoryWrite(goal: "g", plugin: "p", id: "bad7", content: "x", concepts: ["c"], metadata: "{\"a\":"), .invalid),
                (MemoryWrite(goal: "g", plugin: "p", id: "bad8", content: "x", concepts: ["c"], metadata: "[1]"), .invalid),
                (MemoryWrite(goal: "g", plugin: "p", id: "bad9", content: "x", concepts: ["c"], ttlMilliseconds: -1), .invalid),
                (
                    MemoryWrite(
                        goal: "g", plugin: "p", id: "bad10", content: String(repeating: "x", count: (1 << 20) + 1), concepts: ["c"]), .limit
                ),
                (MemoryWrite(goal: "g", plugin: "p", id: "keep", content: "dup", concepts: ["c", "a"]), .invalid),
                (MemoryWrite(goal: "other", plugin: "p", id: "keep", content: "dup in another goal", concepts: ["c"]), .invalid),
            ]
            for (n, (w, code)) in bad.enumerated() {
                XCTAssertNotNil(Oracle.validate(w) ?? (w.id == "keep" ? .duplicate : nil), "the oracle rejects \(w.id!)")
                // Alone…
                XCTAssertThrowsError(try s.write(w), "\(label): \(w.id!)") { e in
                    XCTAssertEqual((e as? MemoryError)?.code, code, "\(label): \(w.id!): \(e)")
                }
                // … and inside a chunk, between good writes: only it is rejected.
                let rs = s.write([
                    // Distinct contents: equal id-less writes would be one memory (idempotent writes).
                    MemoryWrite(goal: "g2", plugin: "p", content: "ok before \(n)", concepts: ["m"]), w,
                    MemoryWrite(goal: "g2", plugin: "p", content: "ok after \(n)", concepts: ["n"]),
                ])
                XCTAssertNotNil(try? rs[0].get(), label)
                XCTAssertNil(try? rs[1].get(), "\(label): \(w.id!) accepted in a chunk")
                XCTAssertNotNil(try? rs[2].get(), label)
            }
            for i in 1...10 { XCTAssertNil(try s.memory(id: "bad\(i)"), "\(label): bad\(i) stored") }
            XCTAssertEqual(try s.memory(id: "keep")?.content, "orig", "\(label): duplicate overwrote the memory")
            XCTAssertEqual(s.stats.writes, writesBefore + 2 * bad.count, "\(label): only the good writes count")
            try s.flush()
            XCTAssertEqual(engineCountsText(try s.engine.conceptGraph(goal: "g")), countsBefore, label)
            XCTAssertEqual(Array(CanonicalClusters.json(try s.clusters(goal: "g")).utf8), clustersBefore, label)
            XCTAssertEqual(try s.engine.conceptGraph(goal: "other").concepts, [:], label)
            XCTAssertEqual(try s.recall(goal: "g", .concept("c")), [], label)
        }
    }

    func testLimitsAreInclusive() throws {
        try bothPaths { s, _, label in
            let ok: [MemoryWrite] = [
                MemoryWrite(goal: "g", plugin: "p", content: "x", concepts: (0..<64).map { "c\($0)" }),
                MemoryWrite(goal: "g", plugin: "p", content: "x", concepts: [String(repeating: "k", count: 256)]),
                MemoryWrite(goal: "g", plugin: "p", content: "x", concepts: [String(repeating: "é", count: 128)]),
                MemoryWrite(goal: "g", plugin: "p", content: "x", concepts: ["  " + String(repeating: "K", count: 256) + "\t"]),
                MemoryWrite(goal: "g", plugin: "p", content: "x", dependsOn: (0..<64).map { Dependency("x\($0)", "y") }),
                MemoryWrite(goal: "g", plugin: "p", content: String(repeating: "x", count: 1 << 20), concepts: ["c"]),
                MemoryWrite(goal: "g", plugin: "p", content: "x", concepts: ["c"], metadata: "{}", ttlMilliseconds: 0),
            ]
            for w in ok {
                XCTAssertNil(Oracle.validate(w))
                XCTAssertNoThrow(try s.write(w), label)
            }
        }
    }

    /// Rejections are counted in stats.rejected, including a duplicate caller id (its code is
    /// `.invalid`, like the other invalid writes).
    func testRejectedWritesAreCounted() throws {
        try bothPaths { s, _, label in
            _ = try s.write(MemoryWrite(goal: "g", plugin: "p", id: "x", content: "1", concepts: ["a"]))
            XCTAssertThrowsError(try s.write(MemoryWrite(goal: "g", plugin: "p", content: "1", concepts: [" "])))
            XCTAssertEqual(s.stats.rejected, 1, label)
            XCTAssertThrowsError(try s.write(MemoryWrite(goal: "g", plugin: "p", id: "x", content: "2", concepts: ["b"])))
            XCTAssertEqual(s.stats.rejected, 2, "\(label): a duplicate-id rejection is not counted in stats.rejected")
            XCTAssertEqual(s.stats.writes, 1, label)
        }
    }

    // MARK: - TTL

    func testTTLExpiryWithManualClock() throws {
        try bothPaths { s, clock, label in
            let keep = try s.write(MemoryWrite(goal: "g", plugin: "p", content: "keep", concepts: ["x", "y"]))
            let temp = try s.write(MemoryWrite(goal: "g", plugin: "p", content: "temp", concepts: ["x", "y", "z"], ttlMilliseconds: 1500))
            try s.flush()
            XCTAssertEqual(try clusterSets(s, "g"), [["x", "y"], ["z"]], label)
            clock.advance(1.25)
            XCTAssertNotNil(try s.memory(id: temp), label)
            XCTAssertEqual(Set(try s.recall(goal: "g", .concept("x")).map(\.memory.id)), [keep, temp], label)
            XCTAssertEqual(try s.recall(goal: "g", .text("temp")).map(\.memory.id), [temp], label)
            clock.advance(0.25)
            // Expired: invisible at once, before any sweep.
            XCTAssertNil(try s.memory(id: temp), label)
            XCTAssertEqual(try s.recall(goal: "g", .concept("x")).map(\.memory.id), [keep], label)
            XCTAssertEqual(try s.recall(goal: "g", .concept("z")).map(\.memory.id), [], label)
            XCTAssertEqual(try s.recall(goal: "g", .text("temp")).map(\.memory.id), [], label)
            XCTAssertEqual(try s.recall(goal: "g", .plugin("p")).map(\.memory.id), [keep], label)
            try s.flush()
            XCTAssertNil(try s.engine.memory(id: temp), "\(label): swept by flush")
            XCTAssertEqual(try clusterSets(s, "g"), [["x"], ["y"]], "\(label): co(x,y) = 1 after expiry, z gone")
            XCTAssertEqual(s.stats.forgets, 1, label)
            XCTAssertEqual(try s.verifyClusters(), [], label)
        }
    }

    func testExpiredMemoriesAreSweptByALaterWrite() throws {
        try bothPaths { s, clock, label in
            let temp = try s.write(MemoryWrite(goal: "g", plugin: "p", content: "t", concepts: ["x"], ttlMilliseconds: 1000))
            clock.advance(3)
            _ = try s.write(MemoryWrite(goal: "g", plugin: "p", content: "n", concepts: ["y"]))
            XCTAssertNil(try s.engine.memory(id: temp), "\(label): the write's sweep removed it")
            try s.flush()
            XCTAssertEqual(try clusterSets(s, "g"), [["y"]], label)
        }
    }

    /// A recall with a limit returns the newest *live* matches: expired-but-unswept memories
    /// must not use up the limit.
    func testRecallLimitIsNotUsedUpByExpiredMemories() throws {
        try bothPaths { s, clock, label in
            let old = try s.write(MemoryWrite(goal: "g", plugin: "p", content: "old words", concepts: ["x"]))
            _ = try s.write(MemoryWrite(goal: "g", plugin: "p", content: "new words", concepts: ["x"], ttlMilliseconds: 500))
            clock.advance(0.6)
            XCTAssertEqual(try s.recall(goal: "g", .concept("x"), limit: 1).map(\.memory.id), [old], label)
            XCTAssertEqual(try s.recall(goal: "g", .plugin("p"), limit: 1).map(\.memory.id), [old], label)
        }
    }

    /// Once expired a memory is gone (memory(id:) says nil), so its id is free again and a
    /// forget of it finds nothing — whether or not the sweep has run yet.
    func testExpiredIDIsFreeBeforeTheSweep() throws {
        try bothPaths { s, clock, label in
            _ = try s.write(MemoryWrite(goal: "g", plugin: "p", id: "e1", content: "t", concepts: ["x"], ttlMilliseconds: 500))
            clock.advance(0.6)  // same whole second: the opportunistic sweep does not run
            XCTAssertNil(try s.memory(id: "e1"), label)
            XCTAssertNoThrow(
                try s.write(MemoryWrite(goal: "g", plugin: "p", id: "e1", content: "again", concepts: ["y"])),
                "\(label): the id of an expired memory is reported as already existing")
        }
    }

    // MARK: - Recall

    /// After a caller id is forgotten and reused for a memory with other concepts (or another
    /// plugin), recall by the old concept must not return the new memory.
    func testRecallAfterIDReuseReturnsOnlyHolders() throws {
        try bothPaths { s, _, label in
            _ = try s.write(MemoryWrite(goal: "g", plugin: "p1", id: "r", content: "first", concepts: ["a"]))
            XCTAssertTrue(try s.forget(id: "r"))
            _ = try s.write(MemoryWrite(goal: "g", plugin: "p2", id: "r", content: "second", concepts: ["b"]))
            let byA = try s.recall(goal: "g", .concept("a"))
            XCTAssertEqual(byA.map(\.memory.content), [], "\(label): recall(concept a) returned a memory without a")
            let byP1 = try s.recall(goal: "g", .plugin("p1"))
            XCTAssertEqual(byP1.map(\.memory.content), [], "\(label): recall(plugin p1) returned p2's memory")
            XCTAssertEqual(try s.recall(goal: "g", .concept("b")).map(\.memory.content), ["second"], label)
        }
    }

    /// Recall by plugin is newest first in submission order, whatever path and however the
    /// writes were submitted.
    func testRecallOrderFollowsSubmissionOrder() throws {
        try bothPaths { s, _, label in
            let ids = s.write([
                MemoryWrite(goal: "g", plugin: "p", content: "1", concepts: ["a"]),
                MemoryWrite(goal: "g", plugin: "p", content: "2", concepts: ["b"]),
                MemoryWrite(goal: "g", plugin: "p", content: "3", concepts: ["a"]),
            ]).map { try! $0.get() }
            XCTAssertEqual(try s.recall(goal: "g", .plugin("p")).map(\.memory.id), ids.reversed(), label)
        }
    }

    // MARK: - Ids

    /// A host-assigned id is fresh: it never takes the id a caller already gave a live memory.
    func testHostIDsNeverCollideWithCallerIDs() throws {
        try bothPaths { s, _, label in
            let first = try s.write(MemoryWrite(goal: "g", plugin: "p", content: "host 1", concepts: ["a"]))
            // Host ids are "<prefix>-<counter>": a caller may well use the next one.
            let dash = try XCTUnwrap(first.lastIndex(of: "-"))
            let n = try XCTUnwrap(Int(first[first.index(after: dash)...]))
            let next = String(first[..<dash]) + "-\(n + 1)"
            XCTAssertEqual(try s.write(MemoryWrite(goal: "g", plugin: "p", id: next, content: "caller", concepts: ["x", "y"])), next)
            var second: String?
            do {
                second = try s.write(MemoryWrite(goal: "g", plugin: "p", content: "host 2", concepts: ["z"]))
            } catch {
                XCTFail("\(label): a write without id was rejected: \(error)")
            }
            XCTAssertNotEqual(second, next, "\(label): the host reused a live caller id")
            XCTAssertEqual(try s.memory(id: next)?.content, "caller", "\(label): the caller's acknowledged memory was overwritten")
            // Forgetting the caller's memory leaves the counts of the others exact.
            XCTAssertTrue(try s.forget(id: next))
            try s.flush()
            let oracle = Oracle()
            oracle.write(MemoryWrite(goal: "g", plugin: "p", content: "host 1", concepts: ["a"]), id: "1", now: 0)
            if second != nil { oracle.write(MemoryWrite(goal: "g", plugin: "p", content: "host 2", concepts: ["z"]), id: "2", now: 0) }
            XCTAssertEqual(engineCountsText(try s.engine.conceptGraph(goal: "g")), oracle.countsText(goal: "g", now: 0), label)
            XCTAssertEqual(oracleText(try clusterBytes(s)), OracleJSON.json(oracle.clusters(now: 0)), label)
        }
    }

    // MARK: - Recovery

    /// A fresh service over an engine whose clustering was left pending (no flush: a killed
    /// process) has exact clusters at once.
    func testFreshServiceFinishesPendingClustering() throws {
        for optimizedSecond in [true, false] {
            let clock = ManualClock()
            let engine = InMemoryEngine()
            let s1 = try makeMemoryService(optimized: true, clock: clock, engine: engine, threshold: 1000, timeout: 1e9)
            let oracle = Oracle()
            var ids: [String] = []
            for (i, pair) in [("a", "b"), ("b", "c"), ("c", "d"), ("x", "y")].enumerated() {
                let w = MemoryWrite(goal: "g", plugin: "p", content: "\(i)", dependsOn: [Dependency(pair.0, pair.1)])
                let id = try s1.write(w)
                oracle.write(w, id: id, now: clock.now())
                ids.append(id)
            }
            try s1.flush()
            // Left pending: a split, a concept gone, a join, a new goal.
            XCTAssertTrue(try s1.forget(id: ids[1]))
            oracle.forget(ids[1])
            XCTAssertTrue(try s1.forget(id: ids[3]))
            oracle.forget(ids[3])
            for w in [
                MemoryWrite(goal: "g", plugin: "p", content: "j", dependsOn: [Dependency("d", "e")]),
                MemoryWrite(goal: "h", plugin: "p", content: "k", concepts: ["q", "r"]),
            ] { oracle.write(w, id: try s1.write(w), now: clock.now()) }
            XCTAssertNotEqual(try clusterBytes(s1), Array(OracleJSON.json(oracle.clusters(now: clock.now())).utf8), "still pending")
            let s2 = try makeMemoryService(optimized: optimizedSecond, clock: clock, engine: engine)
            XCTAssertEqual(
                oracleText(try clusterBytes(s2)), OracleJSON.json(oracle.clusters(now: clock.now())), "optimized: \(optimizedSecond)")
            XCTAssertEqual(try s2.verifyClusters(), [])
        }
    }

    // MARK: - Close

    func testOperationsAfterCloseFailWithClosed() throws {
        try bothPaths { s, _, label in
            let id = try s.write(MemoryWrite(goal: "g", plugin: "p", content: "x", concepts: ["a"]))
            try s.close()
            XCTAssertThrowsError(try s.write(MemoryWrite(goal: "g", plugin: "p", content: "x", concepts: ["a"]))) {
                XCTAssertEqual(($0 as? MemoryError)?.code, .closed, label)
            }
            XCTAssertThrowsError(try s.forget(id: id)) { XCTAssertEqual(($0 as? MemoryError)?.code, .closed, label) }
            XCTAssertThrowsError(try s.setContextValue(goal: "g", plugin: "p", key: "k", value: "v")) {
                XCTAssertEqual(($0 as? MemoryError)?.code, .closed, label)
            }
            switch s.forget(ids: [id, "unknown"])[0] {
            case .failure(let e): XCTAssertEqual(e.code, .closed, "\(label): \(e)")
            case .success(let b): XCTFail("\(label): forget(ids:) after close succeeded (\(b))")
            }
        }
    }

    // MARK: - Workload format

    func testWorkloadLineRoundTripKeepsEveryField() throws {
        let ops: [WorkloadOp] = [
            .write(
                MemoryWrite(
                    goal: "g\"ü", plugin: "p", id: "x\\1", content: "c\n", concepts: ["A", "ß"],
                    dependsOn: [Dependency("a", "b")], metadata: "{\"k\":1}", ttlMilliseconds: 1500)),
            .write(MemoryWrite(goal: "g", plugin: "p", content: "", concepts: [])),
            .forget("x\\1"),
        ]
        for op in ops { XCTAssertEqual(try WorkloadOp.parse(Substring(op.jsonLine)), op, op.jsonLine) }
    }

    // MARK: - Lazy clustering

    func testLazyClusteringRunsAtThresholdNotBefore() throws {
        let clock = ManualClock()
        let s = try makeMemoryService(optimized: true, clock: clock, background: false, threshold: 4, timeout: 10)
        for i in 0..<3 {
            _ = try s.write(MemoryWrite(goal: "g", plugin: "p", content: "\(i)", concepts: ["a", "b"]))
            XCTAssertEqual(s.stats.clusteringRuns, 0, "after \(i + 1) writes")
        }
        XCTAssertEqual(try s.clusters(goal: "g"), [], "nothing clustered yet")
        XCTAssertEqual(s.goalsWithPendingClustering, 1)
        s.clusteringTick()
        XCTAssertEqual(s.stats.clusteringRuns, 0, "a tick before the timeout runs nothing")
        // Another goal's writes do not count towards g's threshold.
        for i in 0..<3 { _ = try s.write(MemoryWrite(goal: "h", plugin: "p", content: "\(i)", concepts: ["q"])) }
        XCTAssertEqual(s.stats.clusteringRuns, 0)
        _ = try s.write(MemoryWrite(goal: "g", plugin: "p", content: "4", concepts: ["c"]))
        XCTAssertEqual(s.stats.clusteringRuns, 1, "the 4th write of g runs it")
        XCTAssertEqual(try s.clusters(goal: "g").first?.clusters.map(\.concepts), [["a", "b"], ["c"]])
        // A forget counts as a write.
        let ids = (0..<3).map { i in try! s.write(MemoryWrite(goal: "g", plugin: "p", content: "x\(i)", concepts: ["d"])) }
        XCTAssertEqual(s.stats.clusteringRuns, 1)
        XCTAssertTrue(try s.forget(id: ids[0]))
        XCTAssertEqual(s.stats.clusteringRuns, 2)
        // A chunk of writes in one submission counts each write.
        _ = s.write((0..<4).map { MemoryWrite(goal: "h", plugin: "p", content: "\($0)", concepts: ["r\($0)"]) })
        // The chunk commits at once: h reaches 7 pending writes, and one run covers them all.
        XCTAssertEqual(s.stats.clusteringRuns, 3, "one run for the whole chunk")
        XCTAssertEqual(s.goalsWithPendingClustering, 0)
        _ = try s.write(MemoryWrite(goal: "h", plugin: "p", content: "late", concepts: ["z"]))
        XCTAssertEqual(s.goalsWithPendingClustering, 1)
        try s.flush()
        XCTAssertEqual(s.stats.clusteringRuns, 4, "flush runs h's pending work")
        XCTAssertEqual(s.goalsWithPendingClustering, 0)
        try s.flush()
        XCTAssertEqual(s.stats.clusteringRuns, 4, "nothing pending, nothing to run")
    }

    func testLazyClusteringRunsAfterTimeout() throws {
        let clock = ManualClock()
        let s = try makeMemoryService(optimized: true, clock: clock, background: false, threshold: 100, timeout: 5)
        _ = try s.write(MemoryWrite(goal: "g", plugin: "p", content: "1", dependsOn: [Dependency("a", "b")]))
        clock.advance(2)
        _ = try s.write(MemoryWrite(goal: "g", plugin: "p", content: "2", dependsOn: [Dependency("b", "c")]))
        s.clusteringTick()
        XCTAssertEqual(s.stats.clusteringRuns, 0)
        clock.advance(2.75)
        s.clusteringTick()
        XCTAssertEqual(s.stats.clusteringRuns, 0, "oldest pending write is 4.75 s old")
        XCTAssertEqual(try s.clusters(goal: "g"), [])
        clock.advance(0.25)
        s.clusteringTick()
        XCTAssertEqual(s.stats.clusteringRuns, 1, "oldest pending write is 5 s old")
        XCTAssertEqual(try s.clusters(goal: "g").first?.clusters.map(\.concepts), [["a", "b", "c"]])
        s.clusteringTick()
        XCTAssertEqual(s.stats.clusteringRuns, 1, "nothing pending")
        // The timeout counts from the oldest write pending now, not from the last run.
        _ = try s.write(MemoryWrite(goal: "g", plugin: "p", content: "3", dependsOn: [Dependency("x", "y")]))
        clock.advance(4.5)
        s.clusteringTick()
        XCTAssertEqual(s.stats.clusteringRuns, 1)
        clock.advance(0.5)
        s.clusteringTick()
        XCTAssertEqual(s.stats.clusteringRuns, 2)
        XCTAssertEqual(try s.clusters(goal: "g").first?.clusters.map(\.concepts), [["a", "b", "c"], ["x", "y"]])
    }

    func testEagerRunsOneClusteringPerWriteAndForget() throws {
        let clock = ManualClock()
        let s = try makeMemoryService(optimized: false, clock: clock)
        var ids: [String] = []
        for i in 0..<7 { ids.append(try s.write(MemoryWrite(goal: "g\(i % 2)", plugin: "p", content: "\(i)", concepts: ["a", "b"]))) }
        XCTAssertEqual(s.stats.clusteringRuns, 7)
        _ = s.write((0..<5).map { MemoryWrite(goal: "g", plugin: "p", content: "\($0)", concepts: ["c"]) })
        XCTAssertEqual(s.stats.clusteringRuns, 12, "one per write of a chunk too")
        XCTAssertTrue(try s.forget(id: ids[0]))
        XCTAssertEqual(s.stats.clusteringRuns, 13)
        XCTAssertFalse(try s.forget(id: "nope"))
        XCTAssertEqual(s.stats.clusteringRuns, 13)
        // Always exact, no flush needed.
        XCTAssertEqual(try s.clusters(goal: "g0").first?.clusters.map(\.concepts), [["a", "b"]])
        XCTAssertEqual(s.stats.writes, 12)
        XCTAssertEqual(s.stats.forgets, 1)
    }

    // MARK: - Canonical export

    func testCanonicalJSONExactBytes() throws {
        let goals = [
            GoalClusters(goal: "Zeta", clusters: [Cluster(id: "q", concepts: ["q"])]),
            GoalClusters(
                goal: "goal-é",
                clusters: [
                    Cluster(id: "c:\\dir", concepts: ["c:\\dir", "say \"hi\"", "tab\u{01}x", "über"]),
                    Cluster(id: "ß", concepts: ["ß"]),
                ]),
        ]
        let want =
            #"[{"goal":"Zeta","clusters":[{"id":"q","concepts":["q"]}]},{"goal":"goal-é","clusters":[{"id":"c:\\dir","concepts":["c:\\dir","say \"hi\"","tab\u0001x","über"]},{"id":"ß","concepts":["ß"]}]}]"#
        XCTAssertEqual(Array(CanonicalClusters.json(goals).utf8), Array(want.utf8))
        XCTAssertEqual(Array(OracleJSON.json(goals).utf8), Array(want.utf8))
        // sha256 of those bytes, computed independently (sha256sum).
        XCTAssertEqual(CanonicalClusters.digest(goals), "2d7402352f1cee39f4b26c6256eda5ce9f1589418cb7883cb6c4e58d378f56d8")
        XCTAssertEqual(CanonicalClusters.json([]), "[]")
        XCTAssertEqual(CanonicalClusters.digest([]), "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945")
    }

    func testCanonicalJSONThroughTheService() throws {
        try bothPaths { s, _, label in
            for i in 0..<2 {  // two memories (distinct contents), so each pair's co reaches θ = 2
                _ = try s.write(
                    MemoryWrite(goal: "goal-é", plugin: "p", content: "x\(i)", concepts: ["Say \"Hi\"", "C:\\Dir", "U\u{0308}ber"]))
            }
            _ = try s.write(MemoryWrite(goal: "goal-é", plugin: "p", content: "x", concepts: ["ß", "tab\u{01}X"]))
            _ = try s.write(MemoryWrite(goal: "Zeta", plugin: "p", content: "x", concepts: ["Q"]))
            try s.flush()
            let want =
                #"[{"goal":"Zeta","clusters":[{"id":"q","concepts":["q"]}]},{"goal":"goal-é","clusters":[{"id":"c:\\dir","concepts":["c:\\dir","say \"hi\"","über"]},{"id":"tab\u0001x","concepts":["tab\u0001x"]},{"id":"ß","concepts":["ß"]}]}]"#
            XCTAssertEqual(oracleText(try clusterBytes(s)), want, label)
            XCTAssertEqual(try clusterBytes(s), Array(want.utf8), label)
        }
    }

    /// The in-memory engine compacts its indexes once most of a goal's memories are gone;
    /// recall must give the same answers before and after (newest first, ids reused).
    func testRecallSurvivesIndexCompaction() throws {
        let s = try makeMemoryService(optimized: true, clock: ManualClock())
        var live: [(id: String, concepts: Set<String>, plugin: String)] = []
        for i in 0..<3000 {
            let cs = ["k\(i % 7)", "k\(i % 11)"]
            let plugin = i % 2 == 0 ? "p" : "q"
            let id = try s.write(MemoryWrite(goal: "g", plugin: plugin, id: "m\(i)", content: "word\(i % 5)", concepts: cs))
            live.append((id, Set(cs), plugin))
        }
        func check(_ label: String) throws {
            for c in ["k0", "k3", "k6", "k10"] {
                let want = live.reversed().filter { $0.concepts.contains(c) }.prefix(25).map(\.id)
                XCTAssertEqual(try s.recall(goal: "g", .concept(c), limit: 25).map(\.memory.id), Array(want), "\(label) \(c)")
            }
            for p in ["p", "q"] {
                let want = live.reversed().filter { $0.plugin == p }.prefix(25).map(\.id)
                XCTAssertEqual(try s.recall(goal: "g", .plugin(p), limit: 25).map(\.memory.id), Array(want), "\(label) \(p)")
            }
            XCTAssertEqual(
                Set(try s.recall(goal: "g", .text("word3"), limit: 100_000).map(\.memory.id)).count,
                live.filter { Int($0.id.dropFirst())! % 5 == 3 }.count, label)
        }
        try check("before")
        // Forget three in four: the goal's index is now mostly tombstones.
        for i in 0..<3000 where i % 4 != 0 { XCTAssertTrue(try s.forget(id: "m\(i)")) }
        live.removeAll { Int($0.id.dropFirst())! % 4 != 0 }
        // Reuse some forgotten ids with other concepts; these writes trigger the compaction.
        for i in stride(from: 1, to: 400, by: 4) {
            let cs = ["k\(i % 3)"]
            _ = try s.write(MemoryWrite(goal: "g", plugin: "q", id: "m\(i)", content: "word\(i % 5)", concepts: cs))
            live.append(("m\(i)", Set(cs), "q"))
        }
        try check("after")
        try s.flush()
        XCTAssertEqual(try s.verifyClusters(), [])
    }

    /// The in-memory engine's edge table (open addressing, deletion by shifting back) against a
    /// dictionary, through growth, wrap-around and many removals.
    func testEdgeTableMatchesADictionary() {
        for seed in UInt64(1)...20 {
            var rng = SplitMix64(seed: seed)
            var table = EdgeTable()
            var model: [UInt64: EdgeCounts] = [:]
            let ids = Int(2 + rng.next() % 60)
            for step in 0..<4000 {
                let a = UInt64(rng.next() % UInt64(ids)), b = UInt64(rng.next() % UInt64(ids))
                guard a != b else { continue }
                let key = min(a, b) << 32 | max(a, b)
                let current = model[key] ?? EdgeCounts(co: 0, dep: 0)
                // Mostly +1; a removal brings an edge back to zero.
                let (co, dep): (Int32, Int32) = rng.next() % 3 == 0 ? (-current.co, -current.dep) : (1, Int32(rng.next() % 2))
                let after = table.add(key, co: co, dep: dep)
                let want = EdgeCounts(co: current.co + co, dep: current.dep + dep)
                XCTAssertEqual(after, want, "seed \(seed) step \(step)")
                if want.co == 0 && want.dep == 0 { model.removeValue(forKey: key) } else { model[key] = want }
                if step % 97 == 0 || step == 3999 {
                    var stored: [UInt64: EdgeCounts] = [:]
                    table.forEach { k, c in XCTAssertNil(stored.updateValue(c, forKey: k), "key stored twice") }
                    XCTAssertEqual(stored, model, "seed \(seed) step \(step)")
                    XCTAssertEqual(table.count, model.count)
                }
            }
        }
    }
}
