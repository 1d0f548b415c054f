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

/// What an engine promises beyond the shared contract, and where it knowingly departs from the
/// protocol's documentation. Each departure is asserted as it is (so a fix shows up as a
/// failure to update here), never skipped.
struct EngineTraits {
    /// A new engine object over the same store sees everything (close/reopen).
    var durable: Bool
    /// A ``ClusteringCoordinator`` (clustering sessions, goal versions in `BatchResult`).
    var coordinator: Bool
    /// A ``SharedMemoryEngine`` (`recluster(goal:theta:)`, context versions).
    var shared: Bool
    /// `apply` refuses a memory id that is already stored (and the whole commit with it).
    var rejectsStoredID: Bool
    /// Reads that still answer after `close()` (the protocol says "Later calls fail").
    var readsAnsweringAfterClose: Set<String>
    /// A clustering session whose body throws stores nothing (the protocol's promise).
    var sessionRollsBackOnThrow: Bool
    /// How many memories `expiredMemories(at:limit: 0)` returns (0 by the contract).
    var expiredWithLimitZero = 0
}

/// The shared contract of ``MemoryEngine``: one body of checks that every engine runs, through
/// `InMemoryEngineConformanceTests`, `SQLiteEngineConformanceTests` and
/// `PostgresEngineConformanceTests` below. To add an engine: give it an `EngineKind` (the
/// `TestStore` support opens it), its `EngineTraits`, and a subclass forwarding each `test…`.
///
/// Batches are made by the `DependencyBatcher` from memories, as the write path makes them:
/// PostgreSQL derives the count changes from the rows it inserts and deletes, so only batches
/// whose deltas match their memories are part of the contract.
final class EngineConformanceSuite {
    let test: XCTestCase
    let kind: EngineKind
    let traits: EngineTraits

    init(_ test: XCTestCase, kind: EngineKind, traits: EngineTraits) {
        self.test = test
        self.kind = kind
        self.traits = traits
    }

    // MARK: - Hooks

    /// A fresh, empty store of this kind (removed when the test ends).
    func makeStore() throws -> TestStore { try TestStore.fresh(kind, for: test) }

    /// A new engine object over `store` (a fresh store when nil), closed when the test ends.
    func makeEngine(_ store: TestStore? = nil) throws -> any MemoryEngine {
        let e = try (store ?? makeStore()).open()
        test.addTeardownBlock { try? e.close() }
        return e
    }

    // MARK: - Helpers

    func mem(
        _ id: String, goal: String = "g", plugin: String = "p", content: String = "", concepts: [String],
        deps: [Dependency] = [], metadata: String? = nil, at time: Double = 1000, expires: Double? = nil
    ) -> Memory {
        Memory(
            id: id, goal: goal, plugin: plugin, content: content, concepts: concepts.sorted(by: ConceptKey.precedes),
            dependsOn: deps, metadata: metadata, createdAt: time, expiresAt: expires)
    }

    /// Counts after one commit, by goal: concept → count and "a|b" → counts, for every key the
    /// commit's batches carried.
    struct Counts: Equatable {
        var concepts: [String: [String: Int32]] = [:]
        var edges: [String: [String: EdgeCounts]] = [:]
        var versions: [String: Int64] = [:]
    }

    /// Commits `writes` and `forgets` as one engine transaction, batched as the write path does.
    @discardableResult
    func commit(_ e: any MemoryEngine, writes: [Memory] = [], forgets: [Memory] = []) throws -> Counts {
        let ops: [PlannedOp] = forgets.map { .forget($0) } + writes.map { .write($0) }
        let planned = DependencyBatcher().plan(ops).map(\.batch)
        let results = try e.apply(planned)
        XCTAssertEqual(results.count, planned.count, "one result per batch")
        var out = Counts()
        for (b, r) in zip(planned, results) {
            XCTAssertEqual(r.conceptCounts.count, b.concepts.count, "counts parallel to the batch's concepts")
            XCTAssertEqual(r.edgeCounts.count, b.edges.count, "counts parallel to the batch's edges")
            for (d, n) in zip(b.concepts, r.conceptCounts) { out.concepts[b.goal, default: [:]][d.concept] = n }
            for (d, n) in zip(b.edges, r.edgeCounts) { out.edges[b.goal, default: [:]]["\(d.a)|\(d.b)"] = n }
            out.versions[b.goal] = max(out.versions[b.goal] ?? 0, r.goalVersion)
        }
        return out
    }

    func graph(_ e: any MemoryEngine, _ goal: String) throws -> (concepts: [String: Int32], edges: [String: EdgeCounts]) {
        let g = try e.conceptGraph(goal: goal)
        var edges: [String: EdgeCounts] = [:]
        for edge in g.edges {
            XCTAssertTrue(ConceptKey.precedes(edge.a, edge.b), "edge \(edge.a)|\(edge.b): a precedes b")
            XCTAssertNil(edges["\(edge.a)|\(edge.b)"], "edge \(edge.a)|\(edge.b) listed once")
            edges["\(edge.a)|\(edge.b)"] = edge.counts
        }
        return (g.concepts, edges)
    }

    func expectError(_ code: MemoryError.Code, _ what: String, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Any)
    {
        do {
            let r = try body()
            XCTFail("\(kind): \(what): expected a \(code) error, got \(r)", file: file, line: line)
        } catch let e as MemoryError {
            XCTAssertEqual(e.code, code, "\(kind): \(what): \(e)", file: file, line: line)
        } catch {
            XCTFail("\(kind): \(what): not a MemoryError: \(error)", file: file, line: line)
        }
    }

    /// The memories of the first check: two goals, odd strings, a dependency, metadata, a TTL.
    var m1: Memory {
        mem("m1", plugin: "p", content: "alpha beta", concepts: ["a", "b"], deps: [Dependency("a", "b")], metadata: #"{"k":"v \"q\""}"#)
    }
    var m2: Memory { mem("m2", plugin: "q", content: "beta gamma", concepts: ["b", "c\"x", "ü\n\\"], at: 1001, expires: 1500) }
    var m3: Memory { mem("m3", goal: "h", plugin: "p", content: "zeta", concepts: ["z"], at: 1002) }

    /// A snapshot of everything the engine stores for the seeded goals, comparable across
    /// engine objects.
    func dump(_ e: any MemoryEngine) throws -> [String] {
        var out = ["goals \(try e.goals())", "pending \(try e.goalsPendingClustering())"]
        for id in ["m1", "m2", "m3", "m4"] { out.append("memory \(id) \(String(describing: try e.memory(id: id)))") }
        for g in ["g", "h"] {
            let (concepts, edges) = try graph(e, g)
            out.append("concepts \(g) \(concepts.sorted { $0.key < $1.key })")
            out.append("edges \(g) \(edges.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.co),\($0.value.dep)" })")
            out.append("clusters \(g) \(try e.clusterAssignments(goal: g).sorted { $0.key < $1.key })")
            for c in ["a", "b", "z"] { out.append("byConcept \(g) \(c) \(try e.memories(goal: g, concept: c, limit: 100).map(\.id))") }
            for p in ["p", "q"] {
                out.append("byPlugin \(g) \(p) \(try e.memories(goal: g, plugin: p, limit: 100).map(\.id))")
                out.append("context \(g) \(p) \(try e.loadContext(goal: g, plugin: p).sorted { $0.key < $1.key })")
            }
            out.append("all \(g) \(try allIDs(e, g, pageSize: 1))")
            out.append("search \(g) \(try e.search(goal: g, text: "beta zeta", limit: 10).map(\.memory.id).sorted())")
        }
        return out
    }

    func allIDs(_ e: any MemoryEngine, _ goal: String, pageSize: Int) throws -> [String] {
        var ids: [String] = []
        var cursor: MemoryCursor?
        var pages = 0
        repeat {
            let page = try e.allMemories(goal: goal, after: cursor, limit: pageSize)
            XCTAssertLessThanOrEqual(page.memories.count, pageSize)
            ids += page.memories.map(\.id)
            cursor = page.next
            pages += 1
        } while cursor != nil && pages < 1000
        return ids
    }

    // MARK: - Checks

    /// One commit of two goals: the counts it returns, and every reader.
    func commitAndReadBack() throws {
        let e = try makeEngine()
        let c = try commit(e, writes: [m1, m2, m3])
        XCTAssertEqual(c.concepts, ["g": ["a": 1, "b": 2, "c\"x": 1, "ü\n\\": 1], "h": ["z": 1]])
        XCTAssertEqual(
            c.edges,
            [
                "g": [
                    "a|b": EdgeCounts(co: 1, dep: 1), "b|c\"x": EdgeCounts(co: 1, dep: 0),
                    "b|ü\n\\": EdgeCounts(co: 1, dep: 0), "c\"x|ü\n\\": EdgeCounts(co: 1, dep: 0),
                ]
            ])

        XCTAssertEqual(try e.memory(id: "m1"), m1)
        XCTAssertEqual(try e.memory(id: "m2"), m2)
        XCTAssertEqual(try e.memory(id: "m3"), m3)
        XCTAssertNil(try e.memory(id: "nope"))
        XCTAssertEqual(try e.existingMemories(["m1", "nope", "m2", "m2", "m3", "\"odd\\id"]), ["m1": m1, "m2": m2, "m3": m3])
        XCTAssertEqual(try e.existingMemories([]), [:])
        // m1 depends on b, which m2 introduces: the batcher stores m2 first, so m1 is newest.
        XCTAssertEqual(try e.memories(goal: "g", concept: "b", limit: 10).map(\.id), ["m1", "m2"], "newest first")
        XCTAssertEqual(try e.memories(goal: "g", concept: "b", limit: 1).map(\.id), ["m1"])
        XCTAssertEqual(try e.memories(goal: "g", concept: "b", limit: 0).map(\.id), [])
        XCTAssertEqual(try e.memories(goal: "g", concept: "ü\n\\", limit: 10).map(\.id), ["m2"])
        XCTAssertEqual(try e.memories(goal: "h", concept: "b", limit: 10).map(\.id), [], "goals are separate")
        XCTAssertEqual(try e.memories(goal: "g", concept: "nope", limit: 10).map(\.id), [])
        XCTAssertEqual(try e.memories(goal: "g", plugin: "p", limit: 10).map(\.id), ["m1"])
        XCTAssertEqual(try e.memories(goal: "g", plugin: "q", limit: 10).map(\.id), ["m2"])
        XCTAssertEqual(try e.memories(goal: "g", plugin: "p", limit: 0).map(\.id), [])
        XCTAssertEqual(try e.memories(goal: "nowhere", plugin: "p", limit: 10).map(\.id), [])
        XCTAssertEqual(try e.goals(), ["g", "h"])
        XCTAssertEqual(try e.goalsPendingClustering(), ["g", "h"])

        let g = try graph(e, "g")
        XCTAssertEqual(g.concepts, ["a": 1, "b": 2, "c\"x": 1, "ü\n\\": 1])
        XCTAssertEqual(g.edges, c.edges["g"])
        let h = try graph(e, "h")
        XCTAssertEqual(h.concepts, ["z": 1])
        XCTAssertEqual(h.edges, [:])
        XCTAssertEqual(try graph(e, "nowhere").concepts, [:])

        // A second commit adds to the counts it returns.
        let m4 = mem("m4", plugin: "p", content: "beta again", concepts: ["a", "b"], at: 1003)
        let c2 = try commit(e, writes: [m4])
        XCTAssertEqual(c2.concepts, ["g": ["a": 2, "b": 3]])
        XCTAssertEqual(c2.edges, ["g": ["a|b": EdgeCounts(co: 2, dep: 1)]])
        XCTAssertEqual(try e.memories(goal: "g", concept: "b", limit: 10).map(\.id), ["m4", "m1", "m2"])
        XCTAssertEqual(try e.memories(goal: "g", plugin: "p", limit: 10).map(\.id), ["m4", "m1"])
        XCTAssertEqual(try allIDs(e, "g", pageSize: 2), ["m2", "m1", "m4"], "creation (insertion) order")
        if traits.coordinator {
            XCTAssertGreaterThan(c.versions["g"] ?? 0, 0, "goal versions are kept")
            XCTAssertGreaterThan(c2.versions["g"] ?? 0, c.versions["g"] ?? 0, "each commit raises the goal's version")
        } else {
            XCTAssertEqual(c2.versions, ["g": 0], "an engine without versions reports 0")
        }
    }

    /// Forgets (with a write in the same commit), counts down to zero, unknown ids.
    func forget() throws {
        let e = try makeEngine()
        try commit(e, writes: [m1, m2, m3])
        let m4 = mem("m4", plugin: "p", content: "beta", concepts: ["b"], at: 1003)
        let c = try commit(e, writes: [m4], forgets: [m1])
        XCTAssertEqual(c.concepts["g"]?["a"], 0, "a's last holder is gone")
        XCTAssertEqual(c.edges["g"]?["a|b"], EdgeCounts(co: 0, dep: 0))
        XCTAssertNil(try e.memory(id: "m1"))
        XCTAssertEqual(try e.existingMemories(["m1", "m4"]).keys.sorted(), ["m4"])
        XCTAssertEqual(try e.memories(goal: "g", concept: "a", limit: 10).map(\.id), [])
        XCTAssertEqual(try e.memories(goal: "g", concept: "b", limit: 10).map(\.id), ["m4", "m2"])
        XCTAssertEqual(try e.memories(goal: "g", plugin: "p", limit: 10).map(\.id), ["m4"])
        XCTAssertEqual(try e.search(goal: "g", text: "alpha", limit: 10).map(\.memory.id), [], "a forgotten memory leaves text recall")
        XCTAssertEqual(try allIDs(e, "g", pageSize: 10), ["m2", "m4"])
        let g = try graph(e, "g")
        XCTAssertEqual(g.concepts, ["b": 2, "c\"x": 1, "ü\n\\": 1], "a concept at zero is gone")
        XCTAssertEqual(Set(g.edges.keys), ["b|c\"x", "b|ü\n\\", "c\"x|ü\n\\"], "an edge at zero is gone")

        // Deleting an id nobody stores changes nothing.
        let before = try dump(e)
        _ = try e.apply([EngineBatch(goal: "g", deletes: ["unknown"])])
        XCTAssertEqual(try dump(e).filter { !$0.hasPrefix("pending") }, before.filter { !$0.hasPrefix("pending") })

        // A goal whose last memory is forgotten is no goal any more.
        try commit(e, forgets: [m3])
        XCTAssertEqual(try e.goals(), ["g"])
        XCTAssertEqual(try graph(e, "h").concepts, [:])
        XCTAssertEqual(try graph(e, "h").edges, [:])
        XCTAssertEqual(try allIDs(e, "h", pageSize: 5), [])
    }

    /// Text recall: any of the words, this goal only, best first, scores above zero.
    func textSearch() throws {
        let e = try makeEngine()
        let contents = ["the quick brown fox jumps over the lazy dog", "fox fox fox", "a dog and a cat", "nothing relevant here"]
        let ts = contents.enumerated().map { mem("t\($0.offset)", content: $0.element, concepts: [], at: 1000 + Double($0.offset)) }
        try commit(e, writes: ts + [mem("o1", goal: "other", content: "fox fox fox fox", concepts: [])])
        let fox = try e.search(goal: "g", text: "fox", limit: 10)
        XCTAssertEqual(fox.map(\.memory.id), ["t1", "t0"])
        if fox.count == 2 { XCTAssertTrue(fox[0].score > fox[1].score && fox[1].score > 0, "\(fox.map(\.score))") }
        XCTAssertEqual(fox.first?.memory, ts[1])
        XCTAssertEqual(Set(try e.search(goal: "g", text: "FOX dog", limit: 10).map(\.memory.id)), ["t0", "t1", "t2"])
        XCTAssertEqual(try e.search(goal: "g", text: "fox dog", limit: 1).count, 1)
        XCTAssertEqual(try e.search(goal: "other", text: "fox", limit: 10).map(\.memory.id), ["o1"])
        XCTAssertEqual(try e.search(goal: "nowhere", text: "fox", limit: 10).map(\.memory.id), [])
        XCTAssertEqual(try e.search(goal: "g", text: "nothing-relevant", limit: 10).map(\.memory.id), ["t3"])
        XCTAssertEqual(try e.search(goal: "g", text: "giraffe", limit: 10).map(\.memory.id), [])
        for empty in ["", "   ", "()*"] {
            XCTAssertEqual(try e.search(goal: "g", text: empty, limit: 10).map(\.memory.id), [], empty.debugDescription)
        }
        XCTAssertEqual(try e.search(goal: "g", text: "fox", limit: 0).map(\.memory.id), [])
        try commit(e, forgets: [ts[1]])
        XCTAssertEqual(try e.search(goal: "g", text: "fox", limit: 10).map(\.memory.id), ["t0"])
    }

    /// TTL: what `expiredMemories(at:)` returns, and that expired memories stay until swept.
    func ttlExpiry() throws {
        let e = try makeEngine()
        let e1 = mem("e1", content: "one", concepts: ["a"], expires: 1500)
        let e2 = mem("e2", content: "two", concepts: ["a", "b"], at: 1001, expires: 2000)
        let e3 = mem("e3", content: "three", concepts: ["b"], at: 1002)
        let e4 = mem("e4", goal: "h", content: "four", concepts: ["a"], at: 1003, expires: 1500)
        try commit(e, writes: [e1, e2, e3, e4])
        XCTAssertEqual(try e.expiredMemories(at: 1499.999, limit: 10).map(\.id), [])
        XCTAssertEqual(Set(try e.expiredMemories(at: 1500, limit: 10).map(\.id)), ["e1", "e4"], "at or before the time")
        XCTAssertEqual(Set(try e.expiredMemories(at: 5000, limit: 10).map(\.id)), ["e1", "e2", "e4"], "never one without a TTL")
        XCTAssertEqual(try e.expiredMemories(at: 5000, limit: 1).count, 1)
        XCTAssertEqual(try e.expiredMemories(at: 5000, limit: 0).count, traits.expiredWithLimitZero, "limit 0")
        XCTAssertEqual(Set(try e.expiredMemories(at: 5000, limit: 10)), [e1, e2, e4], "whole memories")
        // Expired but not swept: still stored and listed (the caller decides).
        XCTAssertEqual(try e.memory(id: "e1"), e1)
        XCTAssertEqual(try allIDs(e, "g", pageSize: 2), ["e1", "e2", "e3"])
        XCTAssertEqual(try e.memories(goal: "g", concept: "a", limit: 10).map(\.id), ["e2", "e1"])
        // Sweeping is a forget.
        try commit(e, forgets: [e1, e4])
        XCTAssertEqual(Set(try e.expiredMemories(at: 5000, limit: 10).map(\.id)), ["e2"])
        XCTAssertEqual(try e.goals(), ["g"])
        XCTAssertEqual(try graph(e, "g").concepts, ["a": 1, "b": 2])
    }

    /// `allMemories`: creation order over commits and plugins, pages of every size, cursors,
    /// forgets between pages, empty and unknown goals.
    func paging() throws {
        let e = try makeEngine()
        let ms = (0..<10).map { i in
            mem("m\(i)", plugin: ["p", "q", "r"][i % 3], content: "n\(i)", concepts: ["c\(i % 4)"], at: 1000 + Double(i))
        }
        try commit(e, writes: Array(ms[0..<3]))
        try commit(
            e, writes: Array(ms[3..<7]) + [mem("h0", goal: "h", concepts: ["c0"]), mem("h1", goal: "h", plugin: "z", concepts: ["c1"])])
        try commit(e, writes: Array(ms[7..<10]))
        let all = ms.map(\.id)
        for size in [1, 2, 3, 4, 5, 9, 10, 11, 100] {
            var ids: [String] = []
            var cursor: MemoryCursor?
            var pages = 0
            repeat {
                let page = try e.allMemories(goal: "g", after: cursor, limit: size)
                XCTAssertLessThanOrEqual(page.memories.count, size, "page size \(size)")
                if page.next != nil { XCTAssertEqual(page.memories.count, size, "only the last page is short (size \(size))") }
                ids += page.memories.map(\.id)
                cursor = page.next
                pages += 1
            } while cursor != nil && pages < 100
            XCTAssertEqual(ids, all, "page size \(size)")
            XCTAssertEqual(pages, max(1, (all.count + size - 1) / size), "no empty trailing page (size \(size))")
        }
        XCTAssertEqual(try e.allMemories(goal: "g", after: nil, limit: 100).memories, ms, "whole memories")
        XCTAssertEqual(try allIDs(e, "h", pageSize: 1), ["h0", "h1"])
        let none = try e.allMemories(goal: "nowhere", after: nil, limit: 5)
        XCTAssertEqual(none.memories, [])
        XCTAssertNil(none.next)
        let zero = try e.allMemories(goal: "g", after: nil, limit: 0)
        XCTAssertEqual(zero.memories, [])
        XCTAssertNil(zero.next)

        // Forgets between pages: listed ones stay listed, later ones disappear; a later write
        // comes last.
        let first = try e.allMemories(goal: "g", after: nil, limit: 3)
        XCTAssertEqual(first.memories.map(\.id), ["m0", "m1", "m2"])
        try commit(e, writes: [mem("m10", content: "late", concepts: ["c0"], at: 2000)], forgets: [ms[1], ms[5]])
        var rest: [String] = []
        var cursor = first.next
        while let c = cursor {
            let page = try e.allMemories(goal: "g", after: c, limit: 3)
            rest += page.memories.map(\.id)
            cursor = page.next
        }
        XCTAssertEqual(rest, ["m3", "m4", "m6", "m7", "m8", "m9", "m10"])
        // The cursor of one goal's page does not leak into another goal.
        XCTAssertEqual(try e.allMemories(goal: "h", after: nil, limit: 1).memories.map(\.id), ["h0"])
    }

    /// Stored cluster assignments, the pending mark, goals that only have clusters.
    func clusterAssignments() throws {
        let e = try makeEngine()
        try commit(e, writes: [m1, m3])
        XCTAssertEqual(try e.goalsPendingClustering(), ["g", "h"])
        XCTAssertEqual(try e.clusterAssignments(goal: "g"), [:])
        try e.storeClusters(goal: "g", changes: [("a", "a"), ("b", "a")], complete: false)
        XCTAssertEqual(try e.clusterAssignments(goal: "g"), ["a": "a", "b": "a"])
        XCTAssertEqual(try e.goalsPendingClustering(), ["g", "h"], "not complete: still pending")
        try e.storeClusters(goal: "g", changes: [("a", nil), ("b", "b"), ("ü\n\\", "b")], complete: true)
        XCTAssertEqual(try e.clusterAssignments(goal: "g"), ["b": "b", "ü\n\\": "b"])
        XCTAssertEqual(try e.goalsPendingClustering(), ["h"], "complete clears the mark")
        XCTAssertEqual(try e.clusterAssignments(goal: "h"), [:], "goals are separate")
        // A later commit marks the goal again.
        try commit(e, writes: [mem("m9", concepts: ["a"], at: 1010)])
        XCTAssertEqual(try e.goalsPendingClustering(), ["g", "h"])
        // A goal with clusters but no memories is a goal; removing them ends it.
        try e.storeClusters(goal: "gone", changes: [("x", "x")], complete: false)
        XCTAssertEqual(try e.goals(), ["g", "gone", "h"])
        XCTAssertEqual(try e.clusterAssignments(goal: "gone"), ["x": "x"])
        XCTAssertFalse(try e.goalsPendingClustering().contains("gone"), "no commit, nothing pending")
        try e.storeClusters(goal: "gone", changes: [("x", nil)], complete: false)
        XCTAssertEqual(try e.goals(), ["g", "h"])
        XCTAssertEqual(try e.clusterAssignments(goal: "gone"), [:])
    }

    /// Plugin goal contexts: store, overwrite, remove, odd strings, separation.
    func contexts() throws {
        let e = try makeEngine()
        XCTAssertEqual(try e.loadContext(goal: "g", plugin: "p"), [:])
        try e.storeContext(goal: "g", plugin: "p", key: "k1", value: "v1")
        try e.storeContext(goal: "g", plugin: "p", key: "k2", value: "v2")
        try e.storeContext(goal: "g", plugin: "p", key: "k2", value: nil)
        try e.storeContext(goal: "g", plugin: "p", key: "k1", value: "v1b")
        try e.storeContext(goal: "g", plugin: "p", key: "ü \"q\"\n\\", value: "東京 😀 \"\\")
        try e.storeContext(goal: "g", plugin: "p", key: "empty", value: "")
        try e.storeContext(goal: "g", plugin: "q", key: "k1", value: "other plugin")
        try e.storeContext(goal: "h", plugin: "p", key: "k1", value: "other goal")
        try e.storeContext(goal: "g", plugin: "p", key: "never", value: nil)
        XCTAssertEqual(try e.loadContext(goal: "g", plugin: "p"), ["k1": "v1b", "ü \"q\"\n\\": "東京 😀 \"\\", "empty": ""])
        XCTAssertEqual(try e.loadContext(goal: "g", plugin: "q"), ["k1": "other plugin"])
        XCTAssertEqual(try e.loadContext(goal: "h", plugin: "p"), ["k1": "other goal"])
        XCTAssertEqual(try e.loadContext(goal: "h", plugin: "q"), [:])
        XCTAssertEqual(try e.goals(), [], "contexts alone make no goal")
    }

    /// After `close()`: every write fails with `.closed`; `close()` again is fine; reads fail
    /// too, except those the engine is known to still answer (`traits`).
    func closeSemantics() throws {
        let e = try makeEngine()
        try commit(e, writes: [m1])
        try e.close()
        try e.close()
        expectError(.closed, "apply") { try e.apply(DependencyBatcher().plan([.write(self.m2)]).map(\.batch)) }
        expectError(.closed, "storeContext") { try e.storeContext(goal: "g", plugin: "p", key: "k", value: "v") }
        expectError(.closed, "storeClusters") { try e.storeClusters(goal: "g", changes: [("a", "a")], complete: true) }
        expectError(.closed, "allMemories") { try e.allMemories(goal: "g", after: nil, limit: 5) }
        if let c = e as? any ClusteringCoordinator {
            expectError(.closed, "withClusteringSession") { try c.withClusteringSession(goal: "g") { _ in 1 } }
        }
        if let s = e as? any SharedMemoryEngine {
            expectError(.closed, "recluster") { try s.withSharedClusteringSession(goal: "g") { _ in 1 } }
        }
        let reads: [(String, () throws -> Any)] = [
            ("memory(id:)", { try e.memory(id: "m1") as Any }),
            ("existingMemories", { try e.existingMemories(["m1"]) }),
            ("memories(concept:)", { try e.memories(goal: "g", concept: "a", limit: 5) }),
            ("memories(plugin:)", { try e.memories(goal: "g", plugin: "p", limit: 5) }),
            ("search", { try e.search(goal: "g", text: "alpha", limit: 5) }),
            ("expiredMemories", { try e.expiredMemories(at: 1e12, limit: 5) }),
            ("conceptGraph", { try e.conceptGraph(goal: "g") }),
            ("goals", { try e.goals() }),
            ("clusterAssignments", { try e.clusterAssignments(goal: "g") }),
            ("goalsPendingClustering", { try e.goalsPendingClustering() }),
            ("loadContext", { try e.loadContext(goal: "g", plugin: "p") }),
        ]
        var answering = Set<String>()
        for (name, read) in reads {
            do {
                _ = try read()
                answering.insert(name)
            } catch let error as MemoryError {
                XCTAssertEqual(error.code, .closed, "\(name): \(error)")
            }
        }
        XCTAssertEqual(answering, traits.readsAnsweringAfterClose, "reads that still answer after close")
    }

    /// A commit that fails stores nothing of any of its batches; the engine goes on.
    func storedIDAndAtomicity() throws {
        let e = try makeEngine()
        try commit(e, writes: [m1, m3])
        let before = try dump(e)
        let fresh = mem("m4", content: "new", concepts: ["a", "b"], at: 1003)
        let again = mem("m1", goal: "h", content: "the same id again", concepts: ["z"], at: 1004)
        let batches = DependencyBatcher().plan([.write(fresh), .write(again)]).map(\.batch)
        XCTAssertEqual(batches.count, 2)
        if traits.rejectsStoredID {
            expectError(.storage, "a stored id inserted again") { try e.apply(batches) }
            XCTAssertEqual(try dump(e), before, "nothing of the failed commit is stored")
            let c = try commit(e, writes: [fresh])
            XCTAssertEqual(c.concepts, ["g": ["a": 2, "b": 2]], "the engine goes on")
        } else {
            // The write path checks ids before it commits; this engine trusts it and replaces.
            XCTAssertNoThrow(try e.apply(batches))
            XCTAssertEqual(try e.memory(id: "m1")?.goal, "h")
        }
    }

    /// Close and reopen: a new engine object over the store sees everything, and goes on.
    func durableReopen() throws {
        let store = try makeStore()
        var e: (any MemoryEngine)? = try store.open()
        try commit(e!, writes: [m1, m2, m3])
        try e!.storeClusters(goal: "g", changes: [("a", "a"), ("b", "a")], complete: true)
        try e!.storeContext(goal: "g", plugin: "p", key: "cursor", value: "42")
        let before = try dump(e!)
        XCTAssertEqual(try e!.goalsPendingClustering(), ["h"])
        try e!.close()
        e = nil
        let again = try makeEngine(store)
        XCTAssertEqual(try dump(again), before)
        XCTAssertEqual(Set(try again.expiredMemories(at: 1500, limit: 10).map(\.id)), ["m2"])
        // New writes after reopening come after the old ones.
        let c = try commit(again, writes: [mem("m4", concepts: ["b"], at: 900)])
        XCTAssertEqual(c.concepts, ["g": ["b": 3]])
        XCTAssertEqual(try again.memories(goal: "g", concept: "b", limit: 10).map(\.id), ["m4", "m1", "m2"])
        XCTAssertEqual(try allIDs(again, "g", pageSize: 2), ["m2", "m1", "m4"])
    }

    /// Stored counters add up (never overwrite), across engine objects over one store and
    /// across a reopen when the engine is durable; live memory counts; the storage size.
    func storedCountersAndSize() throws {
        let store = try makeStore()
        let e = try makeEngine(store)
        XCTAssertEqual(try e.storedCounters(), [:], "\(kind): a new memory stores no counters")
        try e.addCounters(["writes": 3, "commits": 1])
        try e.addCounters(["writes": 2, "cache_hits": 5])
        try e.addCounters([:])
        XCTAssertEqual(try e.storedCounters(), ["writes": 5, "commits": 1, "cache_hits": 5], "\(kind): added, not overwritten")
        if traits.durable {
            // A second engine object (another process's) adds to the same rows.
            let other = try makeEngine(store)
            try other.addCounters(["writes": 10, "time_saved_clustering_nanos": 1 << 40])
            XCTAssertEqual(
                try e.storedCounters(), ["writes": 15, "commits": 1, "cache_hits": 5, "time_saved_clustering_nanos": 1 << 40])
            try other.close()
            try e.close()
            let again = try makeEngine(store)
            XCTAssertEqual(try again.storedCounters()["writes"], 15, "\(kind): counters survive a reopen")
        }

        let f = try makeEngine()
        try commit(f, writes: [m1, m2, m3])
        XCTAssertEqual(try f.memoryCount(goal: "g", at: 1000), 2)
        XCTAssertEqual(try f.memoryCount(goal: "g", at: 1500), 1, "\(kind): m2 expired at 1500")
        XCTAssertEqual(try f.memoryCount(goal: "h", at: 1000), 1)
        XCTAssertEqual(try f.memoryCount(goal: "nope", at: 1000), 0)
        let size = try f.storageSize()
        if traits.durable {
            XCTAssertGreaterThan(try XCTUnwrap(size, "\(kind): a durable engine measures its storage"), 0)
        } else {
            XCTAssertNil(size, "\(kind): nothing stored anywhere to measure")
        }
    }

    /// ``ClusteringCoordinator``: versions, what a session reads and stores, the pending mark,
    /// and (`traits`) a session that throws.
    func clusteringSession() throws {
        let store = try makeStore()
        let e = try XCTUnwrap(try makeEngine(store) as? any ClusteringCoordinator)
        let v1 = try commit(e, writes: [mem("s1", concepts: ["a", "b"])]).versions["g"] ?? 0
        let v2 = try commit(e, writes: [mem("s2", concepts: ["b", "c"], at: 1001)]).versions["g"] ?? 0
        XCTAssertGreaterThan(v1, 0)
        XCTAssertGreaterThan(v2, v1)
        try e.withClusteringSession(goal: "g") { s in
            let stored = try s.read()
            XCTAssertEqual(stored.committed, v2, "the session reads as of the last commit")
            XCTAssertEqual(stored.graph.concepts, ["a": 1, "b": 2, "c": 1])
            XCTAssertEqual(Set(stored.graph.edges.map { "\($0.a)|\($0.b)=\($0.counts.co),\($0.counts.dep)" }), ["a|b=1,0", "b|c=1,0"])
            XCTAssertEqual(stored.assignments, [:])
            try s.store([("a", "a"), ("b", "a"), ("c", "a")], through: stored.committed)
        }
        XCTAssertEqual(try e.clusterAssignments(goal: "g"), ["a": "a", "b": "a", "c": "a"])
        XCTAssertEqual(try e.goalsPendingClustering(), [], "stored through the last commit: nothing pending")

        // This instance's own commits are no news from elsewhere.
        let v3 = try commit(e, writes: [mem("s3", concepts: ["d"], at: 1002)]).versions["g"] ?? 0
        XCTAssertGreaterThan(v3, v2)
        XCTAssertEqual(try e.goalsPendingClustering(), ["g"])
        try e.withClusteringSession(goal: "g") { s in
            XCTAssertFalse(s.changedElsewhere, "only this instance committed")
            // Clusters as of an older commit leave the goal pending.
            try s.store([("d", "d")], through: v2)
        }
        XCTAssertEqual(try e.clusterAssignments(goal: "g"), ["a": "a", "b": "a", "c": "a", "d": "d"])
        XCTAssertEqual(try e.goalsPendingClustering(), ["g"], "stored through an older commit: still pending")

        // A session whose body throws.
        struct Boom: Error {}
        XCTAssertThrowsError(
            try e.withClusteringSession(goal: "g") { s -> Int in
                try s.store([("d", "a")], through: v3)
                throw Boom()
            })
        if traits.sessionRollsBackOnThrow {
            XCTAssertEqual(try e.clusterAssignments(goal: "g")["d"], "d", "nothing of a throwing session is stored")
            XCTAssertEqual(try e.goalsPendingClustering(), ["g"])
        } else {
            XCTAssertEqual(try e.clusterAssignments(goal: "g")["d"], "a", "known gap: the session stored before it threw")
        }

        // Another instance over the same store commits: this one's next session knows.
        if traits.durable {
            let other = try makeEngine(store)
            try commit(other, writes: [mem("s4", concepts: ["e"], at: 1003)])
            try e.withClusteringSession(goal: "g") { s in
                XCTAssertTrue(s.changedElsewhere, "another instance committed")
                let stored = try s.read()
                XCTAssertEqual(stored.graph.concepts["e"], 1, "the session reads the other instance's commit")
                XCTAssertGreaterThan(stored.committed, v3)
            }
        }
    }

    /// ``SharedMemoryEngine``: re-clustering (by the memory layer, in the engine's session) from the stored counts (`co >= theta || dep >= 1`).
    func reclusterShared() throws {
        let opened = try makeEngine()
        let e = try XCTUnwrap(opened as? any SharedMemoryEngine)
        try commit(
            e,
            writes: [
                mem("r1", concepts: ["a", "b"]), mem("r2", concepts: ["a", "b"], at: 1001),
                mem("r3", concepts: ["c", "d"], at: 1002), mem("r4", concepts: ["e", "f"], deps: [Dependency("e", "f")], at: 1003),
            ])
        XCTAssertEqual(try e.goalsPendingClustering(), ["g"])
        try SharedClustering.recluster(e, goal: "g", theta: 2)
        let assignments = try e.clusterAssignments(goal: "g")
        XCTAssertEqual(Set(assignments.keys), ["a", "b", "c", "d", "e", "f"])
        let partition = Set(Dictionary(grouping: assignments.keys, by: { assignments[$0]! }).values.map { Set($0) })
        XCTAssertEqual(partition, [["a", "b"], ["c"], ["d"], ["e", "f"]])
        XCTAssertEqual(try e.goalsPendingClustering(), [])
        XCTAssertEqual(try e.contextVersion(goal: "g", plugin: "p"), 0)
        try e.storeContext(goal: "g", plugin: "p", key: "k", value: "v")
        let v1 = try e.contextVersion(goal: "g", plugin: "p")
        try e.storeContext(goal: "g", plugin: "p", key: "k", value: nil)
        XCTAssertGreaterThan(v1, 0)
        XCTAssertGreaterThan(try e.contextVersion(goal: "g", plugin: "p"), v1, "every context write changes the version")
    }
}

// MARK: - The engines

final class InMemoryEngineConformanceTests: XCTestCase {
    var suite: EngineConformanceSuite {
        EngineConformanceSuite(
            self, kind: .memory,
            traits: EngineTraits(
                durable: false, coordinator: true, shared: false, rejectsStoredID: false,
                // Known gap: only the methods that write (and allMemories) check the closed flag.
                readsAnsweringAfterClose: [
                    "memory(id:)", "existingMemories", "memories(concept:)", "memories(plugin:)", "search",
                    "expiredMemories", "conceptGraph", "goals", "clusterAssignments",
                    "goalsPendingClustering", "loadContext",
                ],
                // Known gap: `Session.store` writes the assignments at once.
                sessionRollsBackOnThrow: false,
                // Known gap: the limit is checked after the first match is appended.
                expiredWithLimitZero: 1))
    }

    func testCommitAndReadBack() throws { try suite.commitAndReadBack() }
    func testForget() throws { try suite.forget() }
    func testTextSearch() throws { try suite.textSearch() }
    func testTTLExpiry() throws { try suite.ttlExpiry() }
    func testPaging() throws { try suite.paging() }
    func testClusterAssignments() throws { try suite.clusterAssignments() }
    func testContexts() throws { try suite.contexts() }
    func testCloseSemantics() throws { try suite.closeSemantics() }
    func testStoredIDAndAtomicity() throws { try suite.storedIDAndAtomicity() }
    func testClusteringSession() throws { try suite.clusteringSession() }
    func testStoredCountersAndSize() throws { try suite.storedCountersAndSize() }
}

final class SQLiteEngineConformanceTests: XCTestCase {
    var suite: EngineConformanceSuite {
        EngineConformanceSuite(
            self, kind: .sqlite,
            traits: EngineTraits(
                durable: true, coordinator: true, shared: false, rejectsStoredID: true,
                readsAnsweringAfterClose: [], sessionRollsBackOnThrow: true))
    }

    func testCommitAndReadBack() throws { try suite.commitAndReadBack() }
    func testForget() throws { try suite.forget() }
    func testTextSearch() throws { try suite.textSearch() }
    func testTTLExpiry() throws { try suite.ttlExpiry() }
    func testPaging() throws { try suite.paging() }
    func testClusterAssignments() throws { try suite.clusterAssignments() }
    func testContexts() throws { try suite.contexts() }
    func testCloseSemantics() throws { try suite.closeSemantics() }
    func testStoredIDAndAtomicity() throws { try suite.storedIDAndAtomicity() }
    func testDurableReopen() throws { try suite.durableReopen() }
    func testClusteringSession() throws { try suite.clusteringSession() }
    func testStoredCountersAndSize() throws { try suite.storedCountersAndSize() }

    /// Read-only open (what `stats` and `memory …` reading commands use): never creates a
    /// database, reads everything, refuses every write naming the file, changes nothing.
    func testReadOnlyOpen() throws {
        let store = try suite.makeStore()
        let path = try XCTUnwrap(store.location)
        suite.expectError(.notFound, "read-only open of a missing file") { try EngineFactory.open(.sqlite, location: path, readOnly: true) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "a read-only open creates nothing")
        let writer = try suite.makeEngine(store)
        try suite.commit(writer, writes: [suite.m1, suite.m3])
        try writer.storeContext(goal: "g", plugin: "p", key: "k", value: "v")
        let before = try suite.dump(writer)
        try writer.close()
        let reader = try EngineFactory.open(.sqlite, location: path, readOnly: true)
        addTeardownBlock { try? reader.close() }
        XCTAssertEqual(try suite.dump(reader), before)
        for (what, body) in [
            ("apply", { _ = try reader.apply(DependencyBatcher().plan([.write(self.suite.m2)]).map(\.batch)) }),
            ("storeContext", { try reader.storeContext(goal: "g", plugin: "p", key: "k", value: "w") }),
            ("storeClusters", { try reader.storeClusters(goal: "g", changes: [("a", "a")], complete: true) }),
        ] as [(String, () throws -> Void)] {
            do {
                try body()
                XCTFail("\(what) on a read-only engine succeeded")
            } catch let e as MemoryError {
                XCTAssertEqual(e.code, .storage, "\(what): \(e)")
                XCTAssertTrue(e.message.contains(path) && e.message.contains("read-only"), "\(what): \(e.message)")
            }
        }
        XCTAssertEqual(try suite.dump(reader), before)
    }
}

final class PostgresEngineConformanceTests: XCTestCase {
    var suite: EngineConformanceSuite {
        EngineConformanceSuite(
            self, kind: .postgres,
            traits: EngineTraits(
                durable: true, coordinator: false, shared: true, rejectsStoredID: true,
                readsAnsweringAfterClose: [], sessionRollsBackOnThrow: true))
    }

    func testCommitAndReadBack() throws { try suite.commitAndReadBack() }
    func testForget() throws { try suite.forget() }
    func testTextSearch() throws { try suite.textSearch() }
    func testTTLExpiry() throws { try suite.ttlExpiry() }
    func testPaging() throws { try suite.paging() }
    func testClusterAssignments() throws { try suite.clusterAssignments() }
    func testContexts() throws { try suite.contexts() }
    func testCloseSemantics() throws { try suite.closeSemantics() }
    func testStoredIDAndAtomicity() throws { try suite.storedIDAndAtomicity() }
    func testDurableReopen() throws { try suite.durableReopen() }
    func testReclusterShared() throws { try suite.reclusterShared() }
    func testStoredCountersAndSize() throws { try suite.storedCountersAndSize() }
}
