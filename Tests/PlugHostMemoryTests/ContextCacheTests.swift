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

/// An engine that forwards to an `InMemoryEngine` and runs a hook right after it read a
/// plugin's memories (the working-set load of a context), to interleave another writer
/// deterministically between a cache miss's engine read and the caching of what it read.
final class HookedMemoryEngine: ClusteringCoordinator, @unchecked Sendable {
    let inner = InMemoryEngine()
    let afterPluginRead = Mutex<(@Sendable () -> Void)?>(nil)
    var kind: String { "hook" }

    /// Runs (once) before the next `apply`, on the committing thread.
    let beforeApply = Mutex<(@Sendable () -> Void)?>(nil)

    func apply(_ batches: [EngineBatch]) throws -> [BatchResult] {
        let hook = beforeApply.withLock { h -> (@Sendable () -> Void)? in
            defer { h = nil }; return h
        }
        hook?()
        return try inner.apply(batches)
    }
    func memory(id: String) throws -> Memory? { try inner.memory(id: id) }
    func memories(goal: String, concept: String, limit: Int) throws -> [Memory] {
        try inner.memories(goal: goal, concept: concept, limit: limit)
    }
    func memories(goal: String, anyOf concepts: [String], limit: Int) throws -> [Memory] {
        try inner.memories(goal: goal, anyOf: concepts, limit: limit)
    }
    func memories(goal: String, plugin: String, limit: Int) throws -> [Memory] {
        let r = try inner.memories(goal: goal, plugin: plugin, limit: limit)
        // One shot.
        let hook = afterPluginRead.withLock { h -> (@Sendable () -> Void)? in
            defer { h = nil }; return h
        }
        hook?()
        return r
    }
    func search(goal: String, text: String, limit: Int) throws -> [RecalledMemory] {
        try inner.search(goal: goal, text: text, limit: limit)
    }
    func expiredMemories(at time: Double, limit: Int) throws -> [Memory] { try inner.expiredMemories(at: time, limit: limit) }
    func allMemories(goal: String, after: MemoryCursor?, limit: Int) throws -> MemoryPage {
        try inner.allMemories(goal: goal, after: after, limit: limit)
    }
    func conceptGraph(goal: String) throws -> ConceptGraphSnapshot { try inner.conceptGraph(goal: goal) }
    func goals() throws -> [String] { try inner.goals() }
    func clusterAssignments(goal: String) throws -> [String: String] { try inner.clusterAssignments(goal: goal) }
    func storeClusters(goal: String, changes: [(concept: String, cluster: String?)], complete: Bool) throws {
        try inner.storeClusters(goal: goal, changes: changes, complete: complete)
    }
    func goalsPendingClustering() throws -> [String] { try inner.goalsPendingClustering() }
    func loadContext(goal: String, plugin: String) throws -> [String: String] { try inner.loadContext(goal: goal, plugin: plugin) }
    func storeContext(goal: String, plugin: String, key: String, value: String?) throws {
        try inner.storeContext(goal: goal, plugin: plugin, key: key, value: value)
    }
    func withClusteringSession<T>(goal: String, _ body: (any ClusteringSession) throws -> T) throws -> T {
        try inner.withClusteringSession(goal: goal, body)
    }
    func addCounters(_ deltas: [String: Int64]) throws { try inner.addCounters(deltas) }
    func storedCounters() throws -> [String: Int64] { try inner.storedCounters() }
    func close() throws { try inner.close() }
}

/// Runs `body` on another thread and waits for it.
func runOnAnotherThread(_ body: @escaping @Sendable () -> Void) {
    let done = DispatchSemaphore(value: 0)
    let t = Thread {
        body()
        done.signal()
    }
    t.start()
    done.wait()
}

final class ContextCacheTests: XCTestCase {
    private typealias Key = ContextCache.Key

    // MARK: - The cache alone

    func testHitsMissesAndLRUEvictions() {
        let clock = ManualClock()
        let cache = ContextCache(capacity: 2, ttl: 100, workingSetSize: 4, clock: clock)
        var loads: [String] = []
        func get(_ p: String) -> PluginContext {
            cache.context(Key(goal: "g", plugin: p)) {
                loads.append(p)
                return PluginContext(values: ["p": p])
            }
        }
        XCTAssertEqual(get("a").values["p"], "a")
        XCTAssertEqual(get("a").values["p"], "a")
        _ = get("b")
        _ = get("a")  // a is now the most recently used
        _ = get("c")  // evicts b
        XCTAssertEqual(cache.count, 2)
        _ = get("a")
        _ = get("b")  // miss, evicts c (a was used after it)
        XCTAssertEqual(loads, ["a", "b", "c", "b"])
        let c = cache.counters
        XCTAssertEqual(c.hits, 3)
        XCTAssertEqual(c.misses, 4)
        XCTAssertEqual(c.evictions, 2)
        XCTAssertEqual(c.expirations, 0)
    }

    func testTTLExpiryWithManualClock() {
        let clock = ManualClock()
        let cache = ContextCache(capacity: 10, ttl: 10, workingSetSize: 4, clock: clock)
        var loads = 0
        func get() {
            _ = cache.context(Key(goal: "g", plugin: "p")) {
                loads += 1; return PluginContext()
            }
        }
        get()
        clock.advance(9.5)
        get()
        XCTAssertEqual(loads, 1, "still fresh at 9.5 s")
        clock.advance(0.5)
        get()
        XCTAssertEqual(loads, 2, "expired at 10 s (loaded at 0)")
        XCTAssertEqual(cache.counters.expirations, 1)
        XCTAssertEqual(cache.counters.hits, 1)
        XCTAssertEqual(cache.counters.misses, 2)
    }

    func testUpdateDuringALoadIsNotOverwrittenByTheStaleLoad() {
        let cache = ContextCache(capacity: 10, ttl: 100, workingSetSize: 4, clock: ManualClock())
        let key = Key(goal: "g", plugin: "p")
        let stale = cache.context(key) {
            cache.update(key, write: {}) { $0.values["k"] = "new" }
            return PluginContext(values: ["k": "old"])
        }
        XCTAssertEqual(stale.values["k"], "old")
        XCTAssertEqual(cache.context(key) { PluginContext(values: ["k": "new"]) }.values["k"], "new")
    }

    /// A write acknowledged while a miss is loading must not be lost from the working set.
    func testNoteWriteDuringALoadIsNotLost() {
        let cache = ContextCache(capacity: 10, ttl: 100, workingSetSize: 4, clock: ManualClock())
        let key = Key(goal: "g", plugin: "p")
        _ = cache.context(key) {
            cache.noteWrite(key, id: "w1")  // another writer's write, acknowledged meanwhile
            return PluginContext(recent: [])  // read before it
        }
        let ctx = cache.context(key) { PluginContext(recent: ["w1"]) }
        XCTAssertEqual(ctx.recent, ["w1"], "the stale load was cached: the acknowledged write is missing")
    }

    /// A forget acknowledged while a miss is loading must not come back in the working set.
    func testNoteForgetDuringALoadIsNotLost() {
        let cache = ContextCache(capacity: 10, ttl: 100, workingSetSize: 4, clock: ManualClock())
        let key = Key(goal: "g", plugin: "p")
        _ = cache.context(key) {
            cache.noteForget(goal: "g", id: "w1")
            return PluginContext(recent: ["w1"])
        }
        let ctx = cache.context(key) { PluginContext(recent: []) }
        XCTAssertEqual(ctx.recent, [], "the stale load was cached: the forgotten id is back")
    }

    func testWorkingSetKeepsTheNewestN() {
        let cache = ContextCache(capacity: 10, ttl: 100, workingSetSize: 3, clock: ManualClock())
        let key = Key(goal: "g", plugin: "p")
        _ = cache.context(key) { PluginContext() }
        for i in 1...5 { cache.noteWrite(key, id: "m\(i)") }
        XCTAssertEqual(cache.context(key) { PluginContext() }.recent, ["m3", "m4", "m5"])
        cache.noteForget(goal: "other", id: "m5")
        XCTAssertEqual(cache.context(key) { PluginContext() }.recent, ["m3", "m4", "m5"], "another goal's forget changes nothing")
        // Forgetting a member drops the entry: the next older id, trimmed from the cache, may
        // belong in the working set now, so the next use reloads it from the engine.
        cache.noteForget(goal: "g", id: "m4")
        XCTAssertEqual(cache.context(key) { PluginContext(recent: ["m2", "m3", "m5"]) }.recent, ["m2", "m3", "m5"])
    }

    // MARK: - Through the service

    func testServiceCountsHitsMissesEvictions() throws {
        let clock = ManualClock()
        let s = try makeMemoryService(optimized: true, clock: clock) { $0.cacheCapacity = 2 }
        func w(_ p: String) throws { _ = try s.write(MemoryWrite(goal: "g", plugin: p, content: "x", concepts: ["a"])) }
        try w("p1")  // miss
        try w("p1")  // hit
        try w("p2")  // miss
        try w("p3")  // miss, evicts p1
        try w("p1")  // miss, evicts p2
        var st = s.stats
        XCTAssertEqual(st.cacheHits, 1)
        XCTAssertEqual(st.cacheMisses, 4)
        XCTAssertEqual(st.cacheEvictions, 2)
        // A chunk for one (goal, plugin): one miss at most, then hits.
        _ = s.write((0..<5).map { MemoryWrite(goal: "g", plugin: "p9", content: "\($0)", concepts: ["b"]) })
        st = s.stats
        XCTAssertEqual(st.cacheMisses, 5)
        XCTAssertEqual(st.cacheHits, 5)
        XCTAssertEqual(st.cacheEvictions, 3)
        // The baseline has no cache: every write is a miss.
        let e = try makeMemoryService(optimized: false, clock: clock)
        for _ in 0..<3 { _ = try e.write(MemoryWrite(goal: "g", plugin: "p", content: "x", concepts: ["a"])) }
        XCTAssertEqual(e.stats.cacheHits, 0)
        XCTAssertEqual(e.stats.cacheMisses, 3)
    }

    func testServiceCacheTTLExpiry() throws {
        let clock = ManualClock()
        let s = try makeMemoryService(optimized: true, clock: clock) { $0.cacheTTL = 10 }
        try s.setContextValue(goal: "g", plugin: "p", key: "k", value: "v")
        XCTAssertEqual(try s.contextValue(goal: "g", plugin: "p", key: "k"), "v")  // miss
        clock.advance(9.5)
        XCTAssertEqual(try s.contextValue(goal: "g", plugin: "p", key: "k"), "v")  // hit
        clock.advance(0.5)
        XCTAssertEqual(try s.contextValue(goal: "g", plugin: "p", key: "k"), "v")  // expired: miss
        let st = s.stats
        XCTAssertEqual(st.cacheHits, 1)
        XCTAssertEqual(st.cacheMisses, 2)
        XCTAssertEqual(st.cacheExpirations, 1)
    }

    func testContextWriteIsVisibleAtOnce() throws {
        for optimized in [true, false] {
            let s = try makeMemoryService(optimized: optimized, clock: ManualClock())
            XCTAssertNil(try s.contextValue(goal: "g", plugin: "p", key: "k"))  // cached, empty
            try s.setContextValue(goal: "g", plugin: "p", key: "k", value: "1")
            XCTAssertEqual(try s.contextValue(goal: "g", plugin: "p", key: "k"), "1")
            for i in 2...20 {
                try s.setContextValue(goal: "g", plugin: "p", key: "k", value: "\(i)")
                XCTAssertEqual(try s.contextValue(goal: "g", plugin: "p", key: "k"), "\(i)", "never stale")
            }
            try s.setContextValue(goal: "g", plugin: "p", key: "k", value: nil)
            XCTAssertNil(try s.contextValue(goal: "g", plugin: "p", key: "k"))
            // Uncached key of the same goal, other plugin.
            try s.setContextValue(goal: "g", plugin: "q", key: "k", value: "ü")
            XCTAssertEqual(try s.context(goal: "g", plugin: "q").values, ["k": "ü"])
            XCTAssertEqual(try s.context(goal: "g", plugin: "p").values, [:])
            XCTAssertEqual(try s.engine.loadContext(goal: "g", plugin: "q"), ["k": "ü"], "durable in the engine")
        }
    }

    func testContextWritesFromManyThreadsAreNeverStale() throws {
        let s = try makeMemoryService(optimized: true, clock: ManualClock()) { $0.cacheCapacity = 3 }
        let errors = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            for i in 0..<200 {
                let plugin = "p\(t % 4)", key = "k\(t)"
                do {
                    try s.setContextValue(goal: "g", plugin: plugin, key: key, value: "\(i)")
                    let v = try s.contextValue(goal: "g", plugin: plugin, key: key)
                    if v != "\(i)" { errors.withLock { $0.append("thread \(t) wrote \(i), read \(v ?? "nil")") } }
                } catch { errors.withLock { $0.append("\(error)") } }
            }
        }
        XCTAssertEqual(errors.withLock { $0 }.prefix(5), [])
    }

    func testFreshServiceOverTheSameEngineSeesContexts() throws {
        let clock = ManualClock()
        let engine = InMemoryEngine()
        let s1 = try makeMemoryService(optimized: true, clock: clock, engine: engine)
        try s1.setContextValue(goal: "g", plugin: "p", key: "k", value: "from s1")
        let id = try s1.write(MemoryWrite(goal: "g", plugin: "p", content: "x", concepts: ["a"]))
        XCTAssertEqual(try s1.context(goal: "g", plugin: "p").recent, [id])
        for optimized in [true, false] {
            let s2 = try makeMemoryService(optimized: optimized, clock: clock, engine: engine)
            XCTAssertEqual(try s2.contextValue(goal: "g", plugin: "p", key: "k"), "from s1")
            XCTAssertEqual(try s2.context(goal: "g", plugin: "p").recent, [id])
        }
    }

    func testWriteAppearsInTheCachedWorkingSet() throws {
        let s = try makeMemoryService(optimized: true, clock: ManualClock()) { $0.workingSetSize = 3 }
        var ids: [String] = []
        for i in 0..<5 {
            ids.append(try s.write(MemoryWrite(goal: "g", plugin: "p", content: "\(i)", concepts: ["a"])))
            XCTAssertEqual(try s.context(goal: "g", plugin: "p").recent, Array(ids.suffix(3)))
        }
        let fresh = try makeMemoryService(optimized: true, clock: ManualClock(), engine: s.engine as! InMemoryEngine) {
            $0.workingSetSize = 3
        }
        XCTAssertEqual(try fresh.context(goal: "g", plugin: "p").recent, Array(ids.suffix(3)))
    }

    /// Every way of forgetting removes the id from the cached working set.
    func testForgetUpdatesTheWorkingSet() throws {
        for way in ["forget(id:goal:)", "forget(goal:id:)", "forget(id:)", "forget(ids:)"] {
            let s = try makeMemoryService(optimized: true, clock: ManualClock())
            let a = try s.write(MemoryWrite(goal: "g", plugin: "p", content: "a", concepts: ["a"]))
            let b = try s.write(MemoryWrite(goal: "g", plugin: "p", content: "b", concepts: ["b"]))
            XCTAssertEqual(try s.context(goal: "g", plugin: "p").recent, [a, b])
            switch way {
            case "forget(id:goal:)": XCTAssertTrue(try s.forget(id: a, goal: "g"))
            case "forget(goal:id:)": XCTAssertTrue(try s.forget(goal: "g", id: a))
            case "forget(id:)": XCTAssertTrue(try s.forget(id: a))
            default: XCTAssertEqual(try s.forget(ids: [a])[0].get(), true)
            }
            XCTAssertEqual(try s.context(goal: "g", plugin: "p").recent, [b], "\(way) left the forgotten id in the working set")
        }
    }

    func testExpiryUpdatesTheWorkingSetAfterTheSweep() throws {
        let clock = ManualClock()
        let s = try makeMemoryService(optimized: true, clock: clock)
        let a = try s.write(MemoryWrite(goal: "g", plugin: "p", content: "a", concepts: ["a"], ttlMilliseconds: 1000))
        let b = try s.write(MemoryWrite(goal: "g", plugin: "p", content: "b", concepts: ["b"]))
        XCTAssertEqual(try s.context(goal: "g", plugin: "p").recent, [a, b])
        clock.advance(2)
        try s.flush()
        XCTAssertEqual(try s.context(goal: "g", plugin: "p").recent, [b])
    }

    /// The working set cached after a chunk is the engine's (same ids, same order).
    func testCachedWorkingSetOrderMatchesTheEngineAfterAChunk() throws {
        let s = try makeMemoryService(optimized: true, clock: ManualClock())
        _ = try s.context(goal: "g", plugin: "p")
        _ = s.write([
            MemoryWrite(goal: "g", plugin: "p", content: "1", concepts: ["a"]),
            MemoryWrite(goal: "g", plugin: "p", content: "2", concepts: ["b"]),
            MemoryWrite(goal: "g", plugin: "p", content: "3", concepts: ["a"]),
        ])
        let cached = try s.context(goal: "g", plugin: "p").recent
        let fresh = try makeMemoryService(optimized: true, clock: ManualClock(), engine: s.engine as! InMemoryEngine)
        XCTAssertEqual(cached, try fresh.context(goal: "g", plugin: "p").recent)
    }

    // MARK: - Races between a cache miss and another writer, made deterministic

    /// Another thread's write is acknowledged between a miss's engine read and the caching of
    /// what it read: the working set must still hold the write.
    func testWriteDuringAMissIsInTheWorkingSet() throws {
        let engine = HookedMemoryEngine()
        var c = MemoryConfiguration()
        c.clock = ManualClock()
        c.backgroundClustering = false
        let s = try MemoryService(engine: engine, configuration: c)
        let written = OracleBox<String?>(nil)
        engine.afterPluginRead.withLock { h in
            h = {
                runOnAnotherThread {
                    let id = try? s.write(MemoryWrite(goal: "g", plugin: "p", content: "other", concepts: ["a"]))
                    written.set(id)
                }
            }
        }
        _ = try s.context(goal: "g", plugin: "p")  // the miss
        let id = try XCTUnwrap(written.get())
        XCTAssertEqual(try s.engine.memories(goal: "g", plugin: "p", limit: 10).map(\.id), [id])
        XCTAssertEqual(try s.context(goal: "g", plugin: "p").recent, [id], "the stale load hid an acknowledged write")
    }

    /// Another thread's forget is acknowledged between a miss's engine read and the caching of
    /// what it read: the forgotten id must not be in the working set.
    func testForgetDuringAMissIsNotInTheWorkingSet() throws {
        let engine = HookedMemoryEngine()
        var c = MemoryConfiguration()
        c.clock = ManualClock()
        c.backgroundClustering = false
        let s = try MemoryService(engine: engine, configuration: c)
        let id = try s.write(MemoryWrite(goal: "g", plugin: "p", content: "x", concepts: ["a"]))
        // That write cached (g, p); another plugin's context is what misses.
        _ = try s.write(MemoryWrite(goal: "g", plugin: "q", id: "q1", content: "x", concepts: ["a"]))
        let fresh = try MemoryService(engine: engine, configuration: c)
        engine.afterPluginRead.withLock { h in
            h = { runOnAnotherThread { _ = try? fresh.forget(id: "q1", goal: "g") } }
        }
        _ = id
        _ = try fresh.context(goal: "g", plugin: "q")  // the miss; the forget goes through `fresh` too
        XCTAssertNil(try fresh.memory(id: "q1"))
        XCTAssertEqual(try fresh.context(goal: "g", plugin: "q").recent, [], "the stale load brought back a forgotten id")
    }

    // MARK: - Against the engine, under random workloads

    /// After random writes, forgets (every API) and expiries, each cached context equals the
    /// one a fresh service loads from the same engine.
    func testCachedContextsMatchTheEngineUnderRandomWorkloads() throws {
        for seed in UInt64(400)...410 {
            let h = try PropertyHarness(seed: seed, options: .init(checkWorkingSet: true, steps: 100))
            try h.run()
            if h.failed { break }
        }
    }
}
