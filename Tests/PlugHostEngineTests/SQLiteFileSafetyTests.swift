import Foundation
import GRDB
import XCTest

import PlugHostTestSupport
@testable import PlugHost
@testable import PlugHostCore
@testable import PlugHostMemory
@testable import PlugHostSQLite
@testable import PlugHostPostgres
@testable import PlugHostPipeline
@testable import PlugHostTools

/// The SQLite file's own safety (issue 12): read-only commands are read-only, a deleted or
/// replaced file is noticed, a clean close leaves a file that is a complete copy.
final class SQLiteFileSafetyTests: XCTestCase {
    private func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("plughost-file-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    private func write(_ service: MemoryService, _ n: Int, goal: String = "g", prefix: String = "m") throws {
        let results = service.write(
            (0..<n).map { i in
                MemoryWrite(
                    goal: goal, plugin: "p", id: "\(prefix)\(i)", content: "note \(i)",
                    concepts: ["c\(i % 7)", "c\((i + 1) % 7)", "x\(i % 3)"])
            })
        for r in results { _ = try r.get() }
    }

    // MARK: - Read-only commands

    func testReadOnlyCommandsOnAMissingDatabaseCreateNothing() throws {
        let dir = try temporaryDirectory()
        let db = dir.appendingPathComponent("nonexistent/dir/m.sqlite").path
        for args in [
            ["stats"], ["memory", "clusters"], ["memory", "recall", "--goal", "g", "--concept", "c"], ["memory", "graph", "--goal", "g"],
        ] {
            let r = try TestSupport.runPlughost(args + ["--db", db], cwd: dir)
            XCTAssertEqual(r.status, 3, "\(args): \(r.description)")
            XCTAssertTrue(
                r.stderr.contains("no memory database at \(db): nothing has been written there yet; pass --db or run a pipeline first"),
                "\(args): \(r.stderr)")
            XCTAssertFalse(
                FileManager.default.fileExists(atPath: dir.appendingPathComponent("nonexistent").path), "\(args) created a folder")
        }
        // The default location (the per-user store, none yet): nothing created either.
        let xdg = dir.appendingPathComponent("xdg").path
        let r = try TestSupport.runPlughost(["stats"], cwd: dir, environment: TestSupport.environment(["XDG_DATA_HOME": xdg]))
        XCTAssertEqual(r.status, 3, r.description)
        XCTAssertTrue(r.stderr.contains("\(xdg)/plughost/memory.sqlite"), r.description)
        XCTAssertTrue(r.stderr.contains("the per-user store"), r.description)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent(".plughost").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: xdg))
    }

    /// A goal left pending (a writer killed before clustering): read-only commands print its
    /// exact clusters, computed, and store nothing; the file's bytes do not change.
    func testReadOnlyCommandsComputePendingClustersAndStoreNothing() throws {
        let dir = try temporaryDirectory()
        let db = dir.appendingPathComponent("m.sqlite").path
        let engine = try SQLiteEngine(path: db)
        // Commits through the engine alone: counts and the pending mark, no clusters.
        let reference = try MemoryService(engine: InMemoryEngine())
        let writes = (0..<40).map { i in
            MemoryWrite(goal: "g", plugin: "p", id: "m\(i)", content: "n", concepts: ["a\(i % 5)", "b\(i % 4)"])
        }
        let planned = DependencyBatcher().plan(
            try writes.map { w in .write(try WriteNormalizer(limits: .default).normalize(w, id: w.id!, now: 1)) })
        _ = try engine.apply(planned.map(\.batch))
        try engine.close()
        for r in reference.write(writes) { _ = try r.get() }
        try reference.flush()
        let expected = CanonicalClusters.json(try reference.clusters())

        let before = try Data(contentsOf: URL(fileURLWithPath: db))
        let listing = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: db)
        let clusters = try TestSupport.runPlughost(["memory", "clusters", "--json", "--db", db], cwd: dir)
        XCTAssertEqual(clusters.status, 0, clusters.description)
        XCTAssertEqual(clusters.stdout.trimmingCharacters(in: .whitespacesAndNewlines), expected)
        for args in [["stats", "--json"], ["memory", "recall", "--goal", "g", "--concept", "a1"], ["memory", "graph", "--goal", "g"]] {
            let r = try TestSupport.runPlughost(args + ["--db", db], cwd: dir)
            XCTAssertEqual(r.status, 0, "\(args): \(r.description)")
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: db)), before, "a read-only command changed the file")
        // Nothing written beside it either (a write would go to a -wal file first).
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), listing, "a read-only command left files behind")
        let reopened = try SQLiteEngine(path: db, readOnly: true)
        defer { try? reopened.close() }
        XCTAssertEqual(try reopened.goalsPendingClustering(), ["g"], "a read-only command cleared the pending mark")
        XCTAssertEqual(try reopened.clusterAssignments(goal: "g"), [:], "a read-only command stored clusters")
        XCTAssertThrowsError(try reopened.storeContext(goal: "g", plugin: "p", key: "k", value: "v")) { error in
            XCTAssertTrue("\(error)".contains("opened read-only"), "\(error)")
        }
    }

    func testReadOnlyServiceRefusesWrites() throws {
        let dir = try temporaryDirectory()
        let db = dir.appendingPathComponent("m.sqlite").path
        try SQLiteEngine(path: db).close()
        var config = MemoryConfiguration()
        config.readOnly = true
        let service = try MemoryService(engine: try SQLiteEngine(path: db, readOnly: true), configuration: config)
        defer { try? service.close() }
        XCTAssertThrowsError(try service.write(MemoryWrite(goal: "g", plugin: "p", content: "x", concepts: ["a"]))) { error in
            XCTAssertEqual((error as? MemoryError)?.code, .readOnly)
        }
        XCTAssertThrowsError(try service.forget(id: "x")) { error in XCTAssertEqual((error as? MemoryError)?.code, .readOnly) }
        XCTAssertThrowsError(try service.setContextValue(goal: "g", plugin: "p", key: "k", value: "v")) { error in
            XCTAssertEqual((error as? MemoryError)?.code, .readOnly)
        }
    }

    // MARK: - A deleted or replaced file

    func testCommitAfterTheFileWasDeletedFailsAndIsNotAcknowledged() throws {
        let dir = try temporaryDirectory()
        let db = dir.appendingPathComponent("m.sqlite").path
        let service = try MemoryService(engine: try SQLiteEngine(path: db))
        defer { try? service.close() }
        try write(service, 10)
        for suffix in ["", "-wal", "-shm"] { unlink(db + suffix) }
        XCTAssertThrowsError(try service.write(MemoryWrite(goal: "g", plugin: "p", id: "late", content: "x", concepts: ["a"]))) { error in
            let e = error as? MemoryError
            XCTAssertEqual(e?.code, .storage)
            XCTAssertTrue(e?.message.contains("commit failed, nothing of it was acknowledged") == true, "\(error)")
            XCTAssertTrue(e?.message.contains("\(db) was deleted, moved or replaced") == true, "\(error)")
        }
        let results = service.write([MemoryWrite(goal: "g", plugin: "p", content: "y", concepts: ["b"])])
        XCTAssertThrowsError(try results[0].get())
    }

    func testCommitAfterTheFileWasReplacedFails() throws {
        let dir = try temporaryDirectory()
        let db = dir.appendingPathComponent("m.sqlite").path
        let other = dir.appendingPathComponent("other.sqlite").path
        try SQLiteEngine(path: other).close()
        let engine = try SQLiteEngine(path: db)
        defer { try? engine.close() }
        XCTAssertEqual(rename(other, db), 0)
        XCTAssertThrowsError(try engine.storeContext(goal: "g", plugin: "p", key: "k", value: "v")) { error in
            XCTAssertTrue("\(error)".contains("was deleted, moved or replaced"), "\(error)")
        }
        // The file now at the path holds nothing of it.
        let now = try SQLiteEngine(path: db, readOnly: true)
        defer { try? now.close() }
        XCTAssertEqual(try now.loadContext(goal: "g", plugin: "p"), [:])
    }

    // MARK: - A copy is a backup

    func testCleanCloseLeavesTheWholeMemoryInTheFile() throws {
        let dir = try temporaryDirectory()
        let db = dir.appendingPathComponent("m.sqlite").path
        let service = try MemoryService(engine: try SQLiteEngine(path: db))
        for k in 0..<20 { try write(service, 500, goal: "g\(k % 3)", prefix: "k\(k)-") }
        // Another connection stays open (as another process would), so SQLite's own
        // last-connection checkpoint does not run: the engine's close must truncate the WAL.
        let other = try SQLiteEngine(path: db, readOnly: true)
        XCTAssertGreaterThan((try FileManager.default.attributesOfItem(atPath: db + "-wal")[.size] as? Int) ?? 0, 0)
        try service.close()
        let wal = (try? FileManager.default.attributesOfItem(atPath: db + "-wal")[.size] as? Int) ?? 0
        XCTAssertEqual(wal, 0, "the WAL was left with \(wal) bytes")
        try other.close()
        // The file alone, copied, is the memory.
        let copy = dir.appendingPathComponent("copy.sqlite").path
        try FileManager.default.copyItem(atPath: db, toPath: copy)
        let engine = try SQLiteEngine(path: copy, readOnly: true)
        defer { try? engine.close() }
        let count = try engine.pool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM memories") }
        XCTAssertEqual(count, 10_000)
        XCTAssertEqual(try engine.goalsPendingClustering(), [])
    }

    // MARK: - Schema

    /// A schema-2 file (before goal versions) is migrated at open, and keeps its clusters.
    func testSchema2FileIsMigratedAndClusteredExactly() throws {
        let dir = try temporaryDirectory()
        let db = dir.appendingPathComponent("v2.sqlite").path
        do {
            let queue = try DatabaseQueue(path: db)
            try SQLiteSchema.migrator.migrate(queue, upTo: "v2")
            try queue.close()
        }
        let service = try MemoryService(engine: try SQLiteEngine(path: db))
        try write(service, 200)
        try service.flush()
        XCTAssertEqual(try service.verifyClusters(), [])
        try service.close()
        let engine = try SQLiteEngine(path: db, readOnly: true)
        defer { try? engine.close() }
        XCTAssertEqual(try engine.pool.read { try Int32.fetchOne($0, sql: "PRAGMA user_version") }, SQLiteSchema.version)
    }
}
