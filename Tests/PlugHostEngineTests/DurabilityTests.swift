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

/// Issue 4's durability promises on the SQLite engine, with real processes: a writer killed with
/// SIGKILL loses nothing it acknowledged, and contexts carry over between processes.
final class DurabilityTests: XCTestCase {
    private var executable: String {
        get throws {
            let path = (PluginSearchPath.bundledDirectory as NSString).appendingPathComponent("plughost")
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw XCTSkip("plughost executable not found next to the tests (\(path)); run `swift build` first")
            }
            return path
        }
    }

    private func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("plughost-durability-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    /// Starts `plughost memory stress` from op `from`, lets it acknowledge at least `minimum`
    /// operations (and a random number more), then kills it with SIGKILL. Returns the indexes
    /// of the acknowledged operations.
    private func runAndKill(db: String, seed: UInt64, from: Int, minimum: Int, rng: inout SplitMix64) throws -> [Int] {
        let p = Process()
        p.environment = TestSupport.hermetic(ProcessInfo.processInfo.environment)
        p.executableURL = URL(fileURLWithPath: try executable)
        p.arguments = ["memory", "stress", "--db", db, "--seed", String(seed), "--from", String(from), "--count", "5000"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let target = minimum + Int(rng.next() % 200)
        var acked: [Int] = []
        var buffer = Data()
        let handle = out.fileHandleForReading
        let deadline = Date().addingTimeInterval(60)
        while acked.count < target && Date() < deadline {
            let chunk = handle.availableData
            if chunk.isEmpty { break }  // the process ended
            buffer.append(chunk)
            while let nl = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[buffer.startIndex..<nl], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...nl)
                let parts = line.split(separator: " ")
                if parts.count == 3, let i = Int(parts[1]) { acked.append(i) }
            }
        }
        // Kill mid-stream: the writer is busy committing the next operations.
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        // Lines acknowledged before the kill but not read yet count too.
        buffer.append(handle.readDataToEndOfFile())
        for line in String(decoding: buffer, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 3, let i = Int(parts[1]) { acked.append(i) }
        }
        XCTAssertEqual(p.terminationReason, .uncaughtSignal, "the writer must have been killed, not have exited")
        return acked
    }

    func testKilledWriterLosesNothingAcknowledged() throws {
        let dir = try temporaryDirectory()
        let db = dir.appendingPathComponent("kill.sqlite").path
        let seed: UInt64 = 11
        var rng = SplitMix64(seed: 99)
        let ops = WorkloadGenerator(operations: 100_000, concepts: 60, seed: seed).generate()
        var applied = Set<Int>()
        var next = 0
        let kills = 20
        for _ in 0..<kills {
            let acked = try runAndKill(db: db, seed: seed, from: next, minimum: 50, rng: &rng)
            XCTAssertFalse(acked.isEmpty, "the writer acknowledged nothing before being killed")
            XCTAssertEqual(acked, Array(next..<(next + acked.count)), "operations are acknowledged in order")
            applied.formUnion(acked)
            next += acked.count
            // The operation in flight when the process died may have committed without being
            // acknowledged: durable but unacknowledged is allowed; half-applied is not.
            let engine = try SQLiteEngine(path: db)
            switch ops[next] {
            case .write(let w):
                if try engine.memory(id: w.id!) != nil {
                    applied.insert(next)
                    next += 1
                }
            case .forget(let id):
                if try engine.memory(id: id) == nil {
                    applied.insert(next)
                    next += 1
                }
            }
            try engine.close()
        }
        XCTAssertGreaterThan(next, kills * 50)

        // Every acknowledged write is there (and every acknowledged forget took effect).
        let reopened = try MemoryService(engine: try SQLiteEngine(path: db))
        defer { try? reopened.close() }
        let oracle = try MemoryService(engine: InMemoryEngine())
        defer { try? oracle.close() }
        var live = Set<String>()
        for i in 0..<next {
            XCTAssertTrue(applied.contains(i), "operation \(i) was neither acknowledged nor found")
            switch ops[i] {
            case .write(let w):
                _ = try oracle.write(w)
                live.insert(w.id!)
            case .forget(let id):
                _ = try oracle.forget(id: id)
                live.remove(id)
            }
        }
        for id in live {
            XCTAssertNotNil(try reopened.memory(id: id), "acknowledged write \(id) is missing after the kills")
        }
        // Clustering work pending at a kill is finished at open; after flush the clusters equal
        // those of the in-memory engine fed the same acknowledged operations.
        try reopened.flush()
        try oracle.flush()
        XCTAssertEqual(CanonicalClusters.json(try reopened.clusters()), CanonicalClusters.json(try oracle.clusters()))
        XCTAssertEqual(try reopened.verifyClusters(), [])
        // And those of the independent model (no TTLs in this workload).
        let model = Oracle()
        for op in ops.prefix(next) {
            switch op {
            case .write(let w): XCTAssertNil(model.write(w, id: w.id!, now: 0))
            case .forget(let id): model.forget(id)
            }
        }
        XCTAssertEqual(CanonicalClusters.json(try reopened.clusters()), OracleJSON.json(model.clusters(now: 0)))
    }

    func testGoalContextCarriesOverBetweenProcesses() throws {
        let dir = try temporaryDirectory()
        let db = dir.appendingPathComponent("ctx.sqlite").path
        func tally() throws -> String {
            let p = Process()
            p.environment = TestSupport.hermetic(ProcessInfo.processInfo.environment)
            p.executableURL = URL(fileURLWithPath: try executable)
            p.arguments = ["call", "text", "tally", "visits", "--goal", "g1", "--db", db]
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0)
            return String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        XCTAssertEqual(try tally(), "1")
        XCTAssertEqual(try tally(), "2", "the second process continues the goal context of the first")
        XCTAssertEqual(try tally(), "3")
        // In one process: served from the cache, and still durable.
        let memory = try MemoryService(engine: try SQLiteEngine(path: db))
        let host = PluginHost(memory: memory)
        let text = try host.load("text")
        XCTAssertEqual(try text.call("tally", [.string("visits")], goal: "g1"), .int(4))
        XCTAssertEqual(try text.call("tally", [.string("visits")], goal: "g1"), .int(5))
        try host.close()
        XCTAssertEqual(try tally(), "6")
    }
}
