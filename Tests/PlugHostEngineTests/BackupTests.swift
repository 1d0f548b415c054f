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

// Issue 12: Backup.

final class BackupTests: XCTestCase {
    func testBackupRefusesWhatItMustAndCopiesTheDatabase() throws {
        let dir = try TestSupport.makeTempDirectory(for: self)
        let db = dir.appendingPathComponent("m.sqlite").path
        let s = try MemoryService(engine: SQLiteEngine(path: db))
        for i in 0..<50 {
            _ = try s.write(
                MemoryWrite(goal: "g\(i % 2)", plugin: "p", id: "m\(i)", content: "c \(i)", concepts: ["a\(i % 4)", "b\(i % 3)"]))
        }
        try s.flush()
        let digest = CanonicalClusters.digest(try s.clusters())
        let engine = try XCTUnwrap(s.engine as? SQLiteEngine)
        let copy = dir.appendingPathComponent("copy.sqlite").path
        try engine.backup(to: copy)
        for (path, replacing, message) in [
            (copy, false, "already exists"), (db, true, "it is the database itself"),
            (dir.path, true, "it is a directory"), (dir.appendingPathComponent("no/x").path, false, "does not exist"),
        ] {
            let e = TestSupport.expectError(MemoryError.self, path) { try engine.backup(to: path, replacing: replacing) }
            XCTAssertTrue(e?.message.contains(message) == true, String(describing: e))
            XCTAssertTrue(e?.message.contains(path) == true, String(describing: e))
        }
        let stale = dir.appendingPathComponent("stale.sqlite").path
        XCTAssertTrue(FileManager.default.createFile(atPath: stale + "-wal", contents: Data("junk".utf8)))
        XCTAssertTrue(TestSupport.expectError(MemoryError.self) { try engine.backup(to: stale) }?.message.contains("stale") == true)
        try engine.backup(to: stale, replacing: true)
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale + "-wal"))
        try s.close()
        for path in [copy, stale] {
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".backup-") }
            XCTAssertEqual(leftovers, [], "no temporary files left")
            let c = try MemoryService(engine: SQLiteEngine(path: path))
            XCTAssertEqual(CanonicalClusters.digest(try c.clusters()), digest)
            XCTAssertEqual(try allStoredMemories(c.engine).count, 50)
            try c.close()
        }
    }

    func testTheBackupCommandRefusesOtherEnginesAndExistingFiles() throws {
        let dir = try TestSupport.makeTempDirectory(for: self)
        let db = dir.appendingPathComponent("m.sqlite").path
        let out = dir.appendingPathComponent("b.sqlite").path
        var r = try TestSupport.runPlughost(["memory", "backup", out, "--engine", "memory"], cwd: dir)
        XCTAssertEqual(r.status, 2, r.description)
        XCTAssertTrue(r.stderr.contains("memory backup works with --engine sqlite only"), r.description)
        r = try TestSupport.runPlughost(["memory", "backup", out, "--db", db], cwd: dir)
        XCTAssertEqual(r.status, 3, r.description)
        XCTAssertTrue(r.stderr.contains("no memory database at \(db)"), r.description)
        XCTAssertFalse(FileManager.default.fileExists(atPath: db))
        let w = try TestSupport.write(#"{"op":"write","id":"a","goal":"g","concepts":["x","y"]}"# + "\n", to: dir, "w.jsonl")
        XCTAssertEqual(try TestSupport.runPlughost(["memory", "replay", w, "--db", db], cwd: dir).status, 0)
        XCTAssertEqual(try TestSupport.runPlughost(["memory", "backup", out, "--db", db], cwd: dir).status, 0)
        r = try TestSupport.runPlughost(["memory", "backup", out, "--db", db], cwd: dir)
        XCTAssertEqual(r.status, 2, r.description)
        XCTAssertTrue(r.stderr.contains("\(out) already exists; pass --force to replace it"), r.description)
        r = try TestSupport.runPlughost(["memory", "backup", out, "--db", db, "--force"], cwd: dir)
        XCTAssertEqual(r.status, 0, r.description)
        XCTAssertTrue(r.stdout.contains("backed up \(db) to \(out)"), r.description)
    }

    /// Backups taken while another process replays a workload into the same file: each holds
    /// the state after some prefix of the workload (commits are atomic) and, opened, gives
    /// exactly that prefix's clusters.
    func testBackupsWhileAnotherProcessWrites() throws {
        let dir = try TestSupport.makeTempDirectory(for: self)
        let db = dir.appendingPathComponent("m.sqlite").path
        var g = WorkloadGenerator(operations: 15_000, concepts: 200, seed: 12)
        g.forgetRate = 0.1
        let ops = g.generate()
        let workload = try TestSupport.write(ops.map(\.jsonLine).joined(separator: "\n") + "\n", to: dir, "w.jsonl")
        // Created first, so that backups can start at once.
        _ = try TestSupport.runPlughost(["memory", "replay", try TestSupport.write("", to: dir, "empty.jsonl"), "--db", db], cwd: dir)
        let finished = OracleBox<TestSupport.ProcessResult?>(nil)
        let ended = OracleBox(false)
        let done = DispatchSemaphore(value: 0)
        let started = Date()
        Thread.detachNewThread {
            let r = try? TestSupport.runPlughost(["memory", "replay", workload, "--db", db], cwd: dir, timeout: 600)
            finished.set(r)
            ended.set(true)
            done.signal()
        }
        var backups: [String] = []
        while !ended.get() {
            let path = dir.appendingPathComponent("b\(backups.count).sqlite").path
            let r = try TestSupport.runPlughost(["memory", "backup", path, "--db", db], cwd: dir)
            XCTAssertEqual(r.status, 0, r.description)
            backups.append(path)
        }
        done.wait()
        let seconds = Date().timeIntervalSince(started)
        let replay = try XCTUnwrap(finished.get())
        XCTAssertEqual(replay.status, 0, replay.description)

        // Each backup's prefix of the workload: the first whose live ids are the backup's.
        var prefixes: [(path: String, ops: Int)] = []
        for path in backups {
            let engine = try SQLiteEngine(path: path)
            let held = Set(try allStoredMemories(engine, pageSize: 1000).map(\.id))
            try engine.close()
            var live = Set<String>()
            var prefix: Int? = live == held ? 0 : nil
            for (i, op) in ops.enumerated() where prefix == nil {
                switch op {
                case .write(let w): live.insert(w.id!)
                case .forget(let id): live.remove(id)
                }
                if live.count == held.count && live == held { prefix = i + 1 }
            }
            guard let p = prefix else {
                XCTFail("\(path) holds \(held.count) memories that are no prefix of the workload")
                continue
            }
            prefixes.append((path, p))
        }
        let partial = prefixes.filter { $0.ops > 0 && $0.ops < ops.count }
        XCTAssertFalse(
            partial.isEmpty, "no backup was taken while the replay wrote (\(backups.count) backups in \(seconds) s: \(prefixes.map(\.ops)))"
        )
        XCTAssertEqual(prefixes.map(\.ops), prefixes.map(\.ops).sorted(), "later backups hold more of the workload")
        // Opened, a backup finishes its pending clustering and gives the prefix's clusters
        // (a few partial ones, spread out, and the last one).
        let step = max(1, partial.count / 3)
        let checked = stride(from: 0, to: partial.count, by: step).map { partial[$0] } + [prefixes.last!]
        for (path, p) in checked {
            let s = try MemoryService(engine: SQLiteEngine(path: path))
            try s.flush()
            XCTAssertEqual(try s.verifyClusters(), [], path)
            XCTAssertEqual(CanonicalClusters.digest(try s.clusters()), try inMemoryDigest(Array(ops.prefix(p))), "\(path) after \(p) ops")
            try s.close()
        }
    }
}
