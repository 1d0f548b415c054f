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

// Issue 12: Replay stops exactly where it says.

final class ReplayStopTests: XCTestCase {
    /// Line L (1-based) writes "w<L>" in one of three goals, with concepts that give clusters,
    /// a dependency now and then, and a forget every 11th line; line `k` is `bad`.
    private func workload(lines: Int, k: Int, bad: WorkloadOp) -> [WorkloadOp] {
        (1...lines).map { line in
            if line == k { return bad }
            if line % 11 == 0 { return .forget("w\(line - 3)") }
            let g = line % 3
            var deps: [Dependency] = []
            if line % 4 == 0 { deps = [Dependency("d\(line % 5)", "c\(line % 6)")] }
            return .write(
                MemoryWrite(
                    goal: "g\(g)", plugin: "p\(line % 2)", id: "w\(line)", content: "line \(line)",
                    concepts: ["c\(line % 6)", "c\((line + 1) % 6)"], dependsOn: deps))
        }
    }

    private struct Scenario {
        var name: String
        var chunk: Int
        var maxBatch: Int?
        var bad: WorkloadOp
        var message: String
    }

    private let k = 37

    private var scenarios: [Scenario] {
        let dup = WorkloadOp.write(MemoryWrite(goal: "g1", plugin: "p", id: "w5", content: "again", concepts: ["c1", "zz"]))
        let invalid = WorkloadOp.write(MemoryWrite(goal: "g1", plugin: "p", id: "bad", content: "x", concepts: ["ok", "   "]))
        return [
            // w5 is in the same chunk, so in the same commit: found by the commit's own ids.
            Scenario(name: "duplicate in the same chunk", chunk: 512, bad: dup, message: "a memory with id \"w5\" already exists"),
            // w5 was committed by an earlier chunk: found in the engine.
            Scenario(name: "duplicate of a stored id", chunk: 8, bad: dup, message: "a memory with id \"w5\" already exists"),
            // The chunk is split over commits of 4 operations: the rest of the chunk comes in
            // later commits, which must skip it.
            Scenario(
                name: "duplicate, chunk split over commits", chunk: 512, maxBatch: 4, bad: dup,
                message: "a memory with id \"w5\" already exists"),
            // Rejected by the normaliser, before anything is queued.
            Scenario(
                name: "rejected by the normaliser", chunk: 512, bad: invalid, message: "concepts[1] \"   \" is empty after normalisation"),
        ]
    }

    /// In every engine and both paths: after the failed replay, exactly the lines before `k`
    /// are in the memory, as a fresh service over a new engine object sees it.
    func testNothingAfterTheRejectedLineIsApplied() throws {
        try forEachKind(self) { kind in
            for scenario in scenarios {
                for optimized in [true, false] {
                    let what = "\(kind) \(optimized ? "optimized" : "baseline"), \(scenario.name)"
                    let ops = workload(lines: 90, k: k, bad: scenario.bad)
                    let store = try TestStore.fresh(kind, for: self)
                    let s = try store.service(optimized: optimized) { c in
                        if let m = scenario.maxBatch { c.maxBatchOperations = m }
                    }
                    let error = TestSupport.expectError(WorkloadError.self, what) {
                        try WorkloadReplayer.replay(ops, into: s, chunk: scenario.chunk, source: "w.jsonl")
                    }
                    XCTAssertEqual(error?.line, k, what)
                    XCTAssertEqual(error?.file, "w.jsonl", what)
                    XCTAssertTrue(error?.message.contains(scenario.message) == true, "\(what): \(String(describing: error))")
                    XCTAssertTrue(
                        error?.description.hasPrefix("w.jsonl:\(k): write rejected: ") == true, "\(what): \(String(describing: error))")
                    try store.finish(s)

                    let prefix = Array(ops.prefix(k - 1))
                    var expected = Set<String>()
                    for op in prefix {
                        switch op {
                        case .write(let w): expected.insert(w.id!)
                        case .forget(let id): expected.remove(id)
                        }
                    }
                    let fresh = try store.service(optimized: true)
                    try fresh.flush()
                    let ids = try allStoredMemories(fresh.engine).map(\.id)
                    XCTAssertEqual(ids.count, Set(ids).count, what)
                    XCTAssertEqual(Set(ids), expected, "\(what): exactly the lines before \(k)")
                    XCTAssertEqual(try fresh.memory(id: "w5")?.content, "line 5", "\(what): the first w5 is kept")
                    XCTAssertNil(try fresh.memory(id: "w\(k + 1)"), what)
                    XCTAssertEqual(CanonicalClusters.digest(try fresh.clusters()), try inMemoryDigest(prefix), what)
                    try store.finish(fresh)
                }
            }
        }
    }

    /// The stop cuts only the submission that had the failure, however the queue merges and
    /// splits submissions: 4 threads, submissions of 40 writes in commits of at most 16.
    func testAStopCutsOnlyItsOwnSubmission() throws {
        let s = try makeMemoryService(optimized: true, clock: ManualClock()) { $0.maxBatchOperations = 16 }
        struct Outcome { var ids: [String]; var bad: Int?; var results: [Result<String, MemoryError>] }
        let outcomes = Mutex<[Outcome]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { t in
            for b in 0..<8 {
                var ws = (0..<40).map { i in
                    MemoryWrite(
                        goal: "g\(t % 2)", plugin: "p", id: "t\(t)-b\(b)-\(i)", content: "", concepts: ["c\(i % 5)", "c\((i + t) % 7)"])
                }
                var bad: Int?
                switch b % 3 {
                case 0:
                    let p = 3 + (t * 7 + b * 5) % 36
                    ws[p].id = ws[p - 3].id  // given twice in the submission
                    bad = p
                case 1 where b > 1:
                    let p = (t * 11 + b) % 40
                    ws[p].id = "t\(t)-b0-0"  // stored by an earlier submission
                    bad = p
                default: break
                }
                let results = s.write(ws, stopAtFirstFailure: true)
                outcomes.withLock { $0.append(Outcome(ids: ws.map { $0.id! }, bad: bad, results: results)) }
            }
        }
        var applied = Set<String>()
        var cut = 0
        for o in outcomes.withLock({ $0 }) {
            for (i, r) in o.results.enumerated() {
                let bad = o.bad ?? Int.max
                switch r {
                case .success where i < bad:
                    applied.insert(o.ids[i])
                case .failure(let e) where i == bad:
                    XCTAssertEqual(e.code, .invalid, e.message)
                    XCTAssertTrue(e.message.contains("already exists"), e.message)
                case .failure(let e) where i > bad:
                    XCTAssertEqual(e.code, .notApplied, e.message)
                    cut += 1
                default:
                    XCTFail("write \(i) of a submission failing at \(String(describing: o.bad)): \(r)")
                }
            }
        }
        XCTAssertGreaterThan(cut, 0)
        try s.flush()
        XCTAssertEqual(Set(try allStoredMemories(s.engine, pageSize: 100).map(\.id)), applied)
    }

    /// The command line: the rejected line's number in the file (blank lines counted), exit 1,
    /// and nothing after it in the database, optimized and `--baseline`.
    func testTheReplayCommandStopsAtTheRejectedFileLine() throws {
        let dir = try TestSupport.makeTempDirectory(for: self)
        var lines = (1...30).map { #"{"op":"write","id":"w\#($0)","goal":"g","concepts":["c\#($0 % 4)","d"]}"# }
        lines.insert("", at: 3)  // file line 4 is blank
        lines[20] = #"{"op":"write","id":"w2","goal":"g","concepts":["again"]}"#  // file line 21
        let file = try TestSupport.write(lines.joined(separator: "\r\n") + "\r\n", to: dir, "w.jsonl")
        for baseline in [false, true] {
            let db = dir.appendingPathComponent("m\(baseline).sqlite").path
            let r = try TestSupport.runPlughost(["memory", "replay", file, "--db", db] + (baseline ? ["--baseline"] : []), cwd: dir)
            XCTAssertEqual(r.status, 2, "a rejected workload line is invalid input: \(r.description)")
            XCTAssertTrue(r.stderr.contains("\(file):21: write rejected: a memory with id \"w2\" already exists"), r.description)
            let engine = try SQLiteEngine(path: db)
            defer { try? engine.close() }
            // File lines 1–20 hold w1, w2, w3 and w4…w20 (line 4 is blank): w1…w19.
            XCTAssertEqual(Set(try allStoredMemories(engine).map(\.id)), Set((1...19).map { "w\($0)" }), "baseline \(baseline)")
        }
    }
}
