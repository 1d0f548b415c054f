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

// Issue 12: Export.

final class ExportTests: XCTestCase {
    private let start = 1_000_000.0

    /// A memory in the in-memory engine with every kind of field: goals out of byte order,
    /// host-assigned ids, contents to escape, concepts that normalisation changes, dependencies
    /// whose ends are not concepts, canonical and non-canonical metadata, a TTL, an expired
    /// memory not swept yet and a forgotten one.
    private func sourceMemory(clock: ManualClock) throws -> MemoryService {
        let s = try makeMemoryService(optimized: true, clock: clock)
        _ = try s.write(
            MemoryWrite(
                goal: "g-β", plugin: "notes", id: "a1", content: "line one\nline \"two\" \\ \u{1}",
                concepts: ["  Café  Au\tLait ", "ΟΔΟΣ", "İstanbul"], dependsOn: [Dependency("x", "Y")],
                metadata: #"{ "b": 1.50, "a": "x/y", "c": [true, null] }"#))
        _ = try s.write(
            MemoryWrite(goal: "g", plugin: "text", content: "host id", concepts: ["Straße", "e\u{301}"], metadata: #"{"k":1}"#))
        _ = try s.write(
            MemoryWrite(
                goal: "G", plugin: "text", id: "ttl", content: "expires later", concepts: ["café au lait", "x"], ttlMilliseconds: 5000))
        _ = try s.write(
            MemoryWrite(goal: "G", plugin: "text", id: "gone", content: "expires soon", concepts: ["x", "y"], ttlMilliseconds: 200))
        _ = try s.write(MemoryWrite(goal: "g", plugin: "text", id: "forgotten", content: "", concepts: ["y"]))
        _ = try s.write(
            MemoryWrite(
                goal: "g", plugin: "p2", id: "a2", content: "", concepts: ["straße", "x"],
                dependsOn: [Dependency("x", "x"), Dependency("w", "v")]))
        for i in 0..<30 {
            _ = try s.write(
                MemoryWrite(
                    goal: "g\(i % 3)", plugin: "p\(i % 4)", id: "n\(i)", content: "n \(i)",
                    concepts: ["k\(i % 5)", "k\((i * 2) % 7)"], dependsOn: i % 6 == 0 ? [Dependency("k\(i % 5)", "j")] : []))
        }
        XCTAssertTrue(try s.forget(id: "forgotten"))
        clock.advance(0.5)  // "gone" expires; no sweep within the same second
        XCTAssertNotNil(try s.engine.memory(id: "gone"), "expired but not swept")
        return s
    }

    private func export(
        _ engine: any MemoryEngine, at now: Double, pageSize: Int = 4
    ) throws -> (text: String, report: MemoryExporter.Report) {
        var text = ""
        let report = try MemoryExporter.export(from: engine, now: now, pageSize: pageSize) { text += $0 }
        return (text, report)
    }

    private func byID(_ engine: any MemoryEngine) throws -> [String: Memory] {
        Dictionary(uniqueKeysWithValues: try allStoredMemories(engine).map { ($0.id, $0) })
    }

    func testExportReplaysToTheSameMemoriesAndDigestAcrossEngines() throws {
        let clock = ManualClock(start: start)
        let source = try sourceMemory(clock: clock)
        let now = clock.now()
        let first = try export(source.engine, at: now)
        XCTAssertEqual(first.report.expired, 1, "the expired memory not swept yet is left out")
        XCTAssertFalse(first.text.contains("\"gone\""))
        let sourceMemories = try byID(source.engine).filter { $0.key != "gone" }
        try source.flush()
        let digest = CanonicalClusters.digest(try source.clusters())
        XCTAssertEqual(first.text, try export(source.engine, at: now, pageSize: 1000).text, "the page size changes nothing")
        XCTAssertEqual(first.text, try export(source.engine, at: now).text, "deterministic")
        let lines = first.text.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, first.report.memories)
        XCTAssertEqual(first.report.memories, 34)
        // Goals in byte order ("G" < "g" < "g-β" < "g0"…), each goal's memories oldest first.
        let goals = try lines.map { l -> String in
            guard case .write(let w) = try WorkloadOp.parse(Substring(l)) else { throw TestSupportError("not a write: \(l)") }
            return w.goal
        }
        XCTAssertEqual(goals, goals.sorted(by: OracleOrder.less))
        XCTAssertTrue(
            lines.contains(where: {
                $0.hasPrefix(#"{"op":"write","id":"ttl","goal":"G","plugin":"text","content":"expires later""#)
                    && $0.hasSuffix(#","ttl_ms":4500}"#)
            }), first.text)
        XCTAssertTrue(first.text.contains(#""metadata":{"a":"x/y","b":1.50,"c":[true,null]}"#), "canonical metadata: \(first.text)")
        XCTAssertTrue(first.text.contains(#""depends_on":[["x","y"]]"#), first.text)
        XCTAssertTrue(
            first.text.contains("\"concepts\":[\"caf\u{E9} au lait\",\"i\u{307}stanbul\",\"x\",\"y\",\"\u{3BF}\u{3B4}\u{3BF}\u{3C3}\"]"),
            first.text)

        // memory → SQLite → PostgreSQL, each by replaying the previous one's export.
        var previous = first.text
        try forEachKind(self) { kind in
            guard kind != .memory else { return }
            let store = try TestStore.fresh(kind, for: self)
            let s = try store.service(optimized: true, clock: clock)
            let ops = try WorkloadReplayer.parse(Data(previous.utf8), source: "export.jsonl").ops
            let report = try WorkloadReplayer.replay(ops, into: s, source: "export.jsonl")
            XCTAssertEqual(report.digest, digest, "\(kind)")
            try store.finish(s)
            let engine = try store.open()
            defer { if kind != .memory { try? engine.close() } }
            let copied = try byID(engine)
            XCTAssertEqual(Set(copied.keys), Set(sourceMemories.keys), "\(kind)")
            for (id, want) in sourceMemories {
                guard let got = copied[id] else { continue }
                XCTAssertEqual(got.goal, want.goal, "\(kind) \(id)")
                XCTAssertEqual(got.plugin, want.plugin, "\(kind) \(id)")
                XCTAssertEqual(got.content, want.content, "\(kind) \(id)")
                XCTAssertEqual(got.concepts, want.concepts, "\(kind) \(id)")
                XCTAssertEqual(got.dependsOn, want.dependsOn, "\(kind) \(id)")
                XCTAssertEqual(got.metadata, try want.metadata.map(JSONValue.canonicalObject), "\(kind) \(id)")
                XCTAssertEqual(got.expiresAt, want.expiresAt, "\(kind) \(id): the TTL left, from the same clock")
            }
            XCTAssertEqual(copied["a1"]?.metadata, #"{"a":"x/y","b":1.50,"c":[true,null]}"#)
            XCTAssertEqual(copied["n0"]?.metadata, nil)
            let again = try export(engine, at: now).text
            XCTAssertEqual(again.split(separator: "\n").sorted(), previous.split(separator: "\n").sorted(), "\(kind): the same lines")
            previous = again
        }
    }

    func testRemainingTTLIsRoundedUpToWholeMilliseconds() {
        XCTAssertEqual(MemoryExporter.remainingTTL(expiresAt: 1_000_005, now: 1_000_000), 5000)
        XCTAssertEqual(MemoryExporter.remainingTTL(expiresAt: 1_000_005, now: 1_000_001.2), 3800, "no ms added by float noise")
        XCTAssertEqual(MemoryExporter.remainingTTL(expiresAt: 1_000_005, now: 1_000_004.9995), 1, "half a ms left rounds up")
        XCTAssertEqual(MemoryExporter.remainingTTL(expiresAt: 1_000_005.0015, now: 1_000_005), 2)
        XCTAssertEqual(
            MemoryExporter.remainingTTL(expiresAt: 1_000_000.000_000_2, now: 1_000_000), 1, "never 0 (forever) for a live memory")
        XCTAssertNil(MemoryExporter.remainingTTL(expiresAt: 1_000_000, now: 1_000_000))
        XCTAssertNil(MemoryExporter.remainingTTL(expiresAt: 999_999, now: 1_000_000))
    }

    /// Paging by creation order survives ids written again, across goals and in the same goal.
    func testAllMemoriesPagesInCreationOrderInEveryEngine() throws {
        try forEachKind(self) { kind in
            let store = try TestStore.fresh(kind, for: self)
            let s = try store.service(optimized: true)
            for i in 0..<25 {
                _ = try s.write(MemoryWrite(goal: i % 2 == 0 ? "a" : "b", plugin: "p\(i % 3)", id: "m\(i)", content: "", concepts: ["c"]))
            }
            XCTAssertTrue(try s.forget(id: "m4"))
            XCTAssertTrue(try s.forget(id: "m5"))
            _ = try s.write(MemoryWrite(goal: "a", plugin: "p9", id: "m5", content: "", concepts: ["c"]))  // was in b
            _ = try s.write(MemoryWrite(goal: "a", plugin: "p0", id: "m4", content: "", concepts: ["c"]))  // again in a
            try s.flush()
            let want = [
                "a": (0..<25).filter { $0 % 2 == 0 && $0 != 4 }.map { "m\($0)" } + ["m5", "m4"],
                "b": (0..<25).filter { $0 % 2 == 1 && $0 != 5 }.map { "m\($0)" },
            ]
            for limit in [1, 2, 5, 100] {
                for goal in ["a", "b"] {
                    var cursor: MemoryCursor?
                    var got: [String] = []
                    var pages = 0
                    repeat {
                        let page = try s.engine.allMemories(goal: goal, after: cursor, limit: limit)
                        got += page.memories.map(\.id)
                        cursor = page.next
                        pages += 1
                    } while cursor != nil && pages < 100
                    XCTAssertEqual(got, want[goal], "\(kind) goal \(goal) limit \(limit)")
                }
            }
            XCTAssertEqual(try s.engine.allMemories(goal: "none", after: nil, limit: 3).memories.count, 0)
            try store.finish(s)
        }
    }

    /// The command: read-only (no database created, no clusters stored), and memory → SQLite →
    /// PostgreSQL through files gives the same digest.
    func testTheExportCommandIsReadOnlyAndMigratesBetweenEngines() throws {
        let dir = try TestSupport.makeTempDirectory(for: self)
        let missing = dir.appendingPathComponent("none/m.sqlite").path
        let r = try TestSupport.runPlughost(["memory", "export", "--db", missing], cwd: dir)
        XCTAssertEqual(r.status, 3, r.description)
        XCTAssertTrue(r.stderr.contains("no memory database at \(missing): nothing has been written there yet"), r.description)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("none").path), "nothing created")

        // A database with clustering pending (written by the engine alone): export stores nothing.
        let db = dir.appendingPathComponent("a.sqlite").path
        do {
            let engine = try SQLiteEngine(path: db)
            var g = WorkloadGenerator(operations: 400, concepts: 30, seed: 7)
            g.forgetRate = 0
            let memories = g.generate().enumerated().compactMap { i, op -> Memory? in
                guard case .write(let w) = op else { return nil }
                var deps = w.dependsOn
                deps.removeAll { $0.from == $0.to }
                let keys = Set(w.concepts + deps.flatMap { [$0.from, $0.to] }).sorted(by: ConceptKey.precedes)
                return Memory(
                    id: w.id!, goal: w.goal, plugin: w.plugin, content: w.content, concepts: keys, dependsOn: deps,
                    metadata: i % 7 == 0 ? #"{"i":\#(i)}"# : nil, createdAt: 1, expiresAt: i % 5 == 0 ? 4_000_000_000 : nil)
            }
            _ = try engine.apply(DependencyBatcher().plan(memories.map { .write($0) }).map(\.batch))
            XCTAssertFalse(try engine.goalsPendingClustering().isEmpty)
            try engine.close()
        }
        let exported = try TestSupport.runPlughost(["memory", "export", "--db", db], cwd: dir)
        XCTAssertEqual(exported.status, 0, exported.description)
        XCTAssertEqual(exported.stdout.split(separator: "\n").count, 400)
        do {
            let engine = try SQLiteEngine(path: db)
            XCTAssertFalse(try engine.goalsPendingClustering().isEmpty, "export finished no clustering")
            for goal in try engine.goals() { XCTAssertEqual(try engine.clusterAssignments(goal: goal), [:], "export stored no clusters") }
            try engine.close()
        }
        let file = try TestSupport.write(exported.stdout, to: dir, "a.jsonl")
        let expected = try inMemoryDigest(try WorkloadReplayer.load(path: file))
        var targets: [TestStore] = [try TestStore.fresh(.sqlite, for: self)]
        if let pg = try? TestStore.fresh(.postgres, for: self) { targets.append(pg) }
        var source = file
        for target in targets {
            let replay = try TestSupport.runPlughost(["memory", "replay", source, "--json"] + target.cliArguments, cwd: dir)
            XCTAssertEqual(replay.status, 0, replay.description)
            let clusters = try TestSupport.runPlughost(["memory", "clusters"] + target.cliArguments, cwd: dir)
            XCTAssertTrue(clusters.stdout.contains("digest \(expected)"), "\(target.kind): \(clusters)")
            let next = try TestSupport.runPlughost(["memory", "export"] + target.cliArguments, cwd: dir)
            XCTAssertEqual(next.status, 0, next.description)
            // TTLs left shrink between exports; everything else is the same.
            func strip(_ text: String) -> [String] {
                text.split(separator: "\n").map { $0.replacingOccurrences(of: #","ttl_ms":[0-9]+"#, with: "", options: .regularExpression) }
                    .sorted()
            }
            XCTAssertEqual(strip(next.stdout), strip(exported.stdout), "\(target.kind)")
            source = try TestSupport.write(next.stdout, to: dir, "\(target.kind).jsonl")
        }
    }
}
