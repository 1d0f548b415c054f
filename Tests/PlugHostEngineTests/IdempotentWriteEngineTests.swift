import Foundation
import GRDB
import Synchronization
import XCTest

import PlugHostTestSupport
@testable import PlugHost
@testable import PlugHostCore
@testable import PlugHostMemory
@testable import PlugHostSQLite
@testable import PlugHostPostgres

/// Idempotent writes and the stored θ in the durable engines: several engine instances on one
/// SQLite file (as several processes have), the unique content index, the schema 3 → 4
/// migration, and real processes through the CLI.
final class IdempotentWriteEngineTests: XCTestCase {
    private func dbPath() throws -> String {
        try TestSupport.makeTempDirectory(for: self).appendingPathComponent("m.sqlite").path
    }

    private func note(_ content: String, id: String? = nil) -> MemoryWrite {
        MemoryWrite(
            goal: "g", plugin: "p", id: id, content: content, concepts: ["a", "b"], dependsOn: [Dependency("a", "c")],
            metadata: "{\"k\":1}")
    }

    private func service(_ path: String, optimized: Bool = true, theta: Int32? = nil) throws -> MemoryService {
        var c = optimized ? MemoryConfiguration() : .baseline
        c.explicitTheta = theta
        c.backgroundClustering = false
        return try MemoryService(engine: try SQLiteEngine(path: path, busyTimeout: 30), configuration: c)
    }

    /// Two services on one file (as two processes): an equal write of the second returns the
    /// first's memory, on both paths.
    func testEqualWriteOfAnotherEngineInstance() throws {
        for optimized in [true, false] {
            let path = try dbPath()
            let a = try service(path, optimized: optimized)
            let b = try service(path, optimized: optimized)
            let id = try a.write(note("x"))
            XCTAssertEqual(try b.write(note("x")), id)
            XCTAssertEqual(b.write([note("x"), note("y"), note("y")]).map { try? $0.get() }.first, id)
            XCTAssertEqual(b.stats.deduplicated, 3)
            try a.close()
            try b.close()
            let r = try service(path)
            XCTAssertEqual(try r.recall(goal: "g", .concept("a"), limit: 10).count, 2)
            try r.close()
        }
    }

    /// The unique index: a second host-assigned memory of one content is refused with
    /// DuplicateContentError and nothing of the transaction is stored; a caller id is not bound.
    func testUniqueContentIndex() throws {
        let path = try dbPath()
        let e1 = try SQLiteEngine(path: path)
        let e2 = try SQLiteEngine(path: path)
        defer {
            try? e1.close()
            try? e2.close()
        }
        // Two spellings of one metadata object are one content.
        try assertOneHostAssignedMemoryPerContent(e1, e2, metadata: ("{\"b\": 1, \"a\": 2}", "{\"a\":2,\"b\":1}"))
    }

    /// In every engine, on both paths: writers on several engine objects (processes, hosts)
    /// write the same notes at once: each note is stored once, whichever wins, every writer got
    /// its id, and θ is the one the first stored.
    func testConcurrentEqualWritesAcrossInstances() throws {
        try forEachKind(self) { kind in
            for optimized in [true, false] {
                let what = "\(kind), optimized \(optimized)"
                let store = try TestStore.fresh(kind, for: self)
                let services = try (0..<3).map { _ in try store.service(optimized: optimized) }
                let box = ResultsBox((0..<3).map { _ in [String?](repeating: nil, count: 30) })
                let notes = (0..<30).map { note("note \($0 % 10)") }
                DispatchQueue.concurrentPerform(iterations: 3) { k in
                    for i in 0..<30 {
                        box.set(k, i, try? services[k].write(notes[i]))
                    }
                }
                let got = box.value
                for i in 0..<30 {
                    let all = Set((0..<3).map { got[$0][i] })
                    XCTAssertEqual(all.count, 1, "\(what): write \(i): \(all)")
                    XCTAssertFalse(all.contains(nil), what)
                }
                XCTAssertEqual(Set(got[0].compactMap { $0 }).count, 10, what)
                XCTAssertEqual(services.reduce(0) { $0 + $1.stats.writes }, 10, what)
                XCTAssertEqual(services.reduce(0) { $0 + $1.stats.deduplicated }, 80, what)
                for s in services { try store.finish(s) }
                let r = try store.service(optimized: true)
                XCTAssertEqual(try r.recall(goal: "g", .concept("a"), limit: 100).count, 10, what)
                XCTAssertEqual(try r.verifyClusters(), [], what)
                try store.finish(r)
                // θ: stored by the first (2, the default); another is refused, naming both.
                // (The engine object is closed here: the caller owns it when the service refuses.)
                let engine = try store.open()
                var five = MemoryConfiguration()
                five.theta = 5
                defer { if kind != .memory { try? engine.close() } }
                XCTAssertThrowsError(try MemoryService(engine: engine, configuration: five), what) { e in
                    XCTAssertTrue("\(e)".contains("theta is 5") && "\(e)".contains("created with theta 2"), "\(what): \(e)")
                }
            }
        }
    }

    /// PostgreSQL's unique index: a second host's equal memory (host-assigned id) is refused as
    /// DuplicateContentError, storing nothing.
    func testPostgresUniqueContentIndex() throws {
        let store = try TestStore.fresh(.postgres, for: self)
        let e1 = try store.open(), e2 = try store.open()
        defer {
            try? e1.close()
            try? e2.close()
        }
        try assertOneHostAssignedMemoryPerContent(e1, e2)
    }

    /// A schema 3 file is migrated: its memories get their digests (a later equal write finds
    /// them), the unique index and the meta table exist.
    func testSchema3FileIsMigrated() throws {
        let path = try dbPath()
        do {
            let queue = try DatabaseQueue(path: path)
            try SQLiteSchema.migrator.migrate(queue, upTo: "v3")
            try queue.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO memories(id, goal, plugin, created_at, expires_at, concepts, depends_on, metadata, content)
                        VALUES ('old', 'g', 'p', 1000, NULL, '["a","b","c"]', '[["a","c"]]', '{"k": 1}', 'x');
                        INSERT INTO concepts(goal, concept, count) VALUES ('g', 'a', 1), ('g', 'b', 1), ('g', 'c', 1);
                        INSERT INTO edge_counts(a, b, co, dep) VALUES (1, 2, 1, 0), (1, 3, 1, 1), (2, 3, 1, 0);
                        INSERT INTO clusters(goal, concept, cluster) VALUES ('g', 'a', 'stale'), ('g', 'b', 'stale'), ('g', 'c', 'stale');
                        """)
            }
            try queue.close()
        }
        // The stored clusters are an older model's: the migration marks the goal pending, so a
        // read-only reader computes them and a writer re-clusters (only a–c is an edge at θ 2:
        // {a, c} and {b}).
        let want = [GoalClusters(goal: "g", clusters: [Cluster(id: "a", concepts: ["a", "c"]), Cluster(id: "b", concepts: ["b"])])]
        do {
            var c = MemoryConfiguration()
            c.readOnly = true
            let r = try MemoryService(engine: try SQLiteEngine(path: path, readOnly: true), configuration: c)
            XCTAssertEqual(try r.clusters(), want)
            try r.close()
        }
        let s = try service(path)
        XCTAssertEqual(try s.write(note("x")), "old")
        XCTAssertEqual(s.stats.deduplicated, 1)
        XCTAssertEqual(try s.clusters(), want)
        XCTAssertEqual(try s.engine.goalsPendingClustering(), [])
        try s.close()
        let e = try SQLiteEngine(path: path)
        defer { try? e.close() }
        XCTAssertEqual(try e.pool.read { try Int32.fetchOne($0, sql: "PRAGMA user_version") }, SQLiteSchema.version)
        XCTAssertEqual(try e.pool.read { try String.fetchOne($0, sql: "SELECT value FROM meta WHERE key = 'theta'") }, "2")
        XCTAssertThrowsError(try e.pool.write { try $0.execute(sql: "UPDATE memories SET content = 'y'") }, "still immutable")
    }

    /// θ is stored by the first opener; another explicit θ is refused naming both and the file;
    /// no θ uses the stored one; a read-only opener reads it.
    func testThetaStoredInTheFile() throws {
        let path = try dbPath()
        try service(path, theta: 3).close()
        XCTAssertThrowsError(try service(path, theta: 2)) { e in
            for part in ["theta is 2", "created with theta 3", path] { XCTAssertTrue("\(e)".contains(part), "\(e)") }
        }
        let s = try service(path)
        XCTAssertEqual(s.configuration.theta, 3)
        try s.close()
        var c = MemoryConfiguration()
        c.readOnly = true
        let r = try MemoryService(engine: try SQLiteEngine(path: path, readOnly: true), configuration: c)
        XCTAssertEqual(r.configuration.theta, 3)
        try r.close()
        XCTAssertThrowsError(try service(path, theta: 0)) { XCTAssertTrue("\($0)".contains("at least 1 (got 0)"), "\($0)") }
    }
}

/// Results written by concurrent writers.
private final class ResultsBox: Sendable {
    private let storage: Mutex<[[String?]]>
    init(_ initial: [[String?]]) { storage = Mutex(initial) }
    func set(_ k: Int, _ i: Int, _ v: String?) { storage.withLock { $0[k][i] = v } }
    var value: [[String?]] { storage.withLock { $0 } }
}
