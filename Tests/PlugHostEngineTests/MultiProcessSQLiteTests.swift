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

/// Many real `plughost` processes on one SQLite file (issue 12): writers of the same goals and
/// of different goals, read-only commands looping beside a writer, two pipeline runs on a fresh
/// folder, a writer killed beside another. After every process has exited (and so flushed),
/// the stored clusters must equal the model of the union of the acknowledged operations, with
/// nothing left pending, and every process must have exited 0.
///
/// Each scenario runs `PLUGHOST_MP_REPEAT` times (default 20): the races it looks for are
/// timing-dependent.
final class MultiProcessSQLiteTests: XCTestCase {
    private var repeats: Int {
        Int(ProcessInfo.processInfo.environment["PLUGHOST_MP_REPEAT"] ?? "") ?? 20
    }

    private func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("plughost-mp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    /// A started `plughost` process whose output goes to files.
    private struct Running {
        let process: Process
        let out: URL
        let err: URL
        let done: DispatchSemaphore

        func wait(timeout: TimeInterval = 120) -> (status: Int32, stdout: String, stderr: String) {
            if done.wait(timeout: .now() + timeout) == .timedOut {
                process.terminate()
                _ = done.wait(timeout: .now() + 10)
                return (-1, read(out), "timed out\n" + read(err))
            }
            return (process.terminationStatus, read(out), read(err))
        }

        private func read(_ url: URL) -> String {
            String(decoding: (try? Data(contentsOf: url)) ?? Data(), as: UTF8.self)
        }
    }

    private func start(_ arguments: [String], cwd: URL) throws -> Running {
        let exe = try TestSupport.plughostExecutable()
        let id = UUID().uuidString
        let out = cwd.appendingPathComponent("out-\(id)"), err = cwd.appendingPathComponent("err-\(id)")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let p = Process()
        p.environment = TestSupport.hermetic(ProcessInfo.processInfo.environment)
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = arguments
        p.currentDirectoryURL = cwd
        let outHandle = try FileHandle(forWritingTo: out), errHandle = try FileHandle(forWritingTo: err)
        p.standardOutput = outHandle
        p.standardError = errHandle
        p.standardInput = FileHandle.nullDevice
        let done = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in done.signal() }
        // The child has its own copies once it runs: ours would stay open for the whole test run.
        defer {
            try? outHandle.close()
            try? errHandle.close()
        }
        try p.run()
        return Running(process: p, out: out, err: err, done: done)
    }

    /// A workload whose ids are unique to `tag` and whose forgets only name its own ids, so
    /// that the union of several such workloads has one meaning whatever the interleaving.
    private func workload(tag: String, goals: [String], operations: Int, seed: UInt64) -> [WorkloadOp] {
        var g = WorkloadGenerator(operations: operations, concepts: 40, seed: seed)
        g.goals = goals.count
        return g.generate().map { op in
            switch op {
            case .forget(let id): return .forget("\(tag)-\(id)")
            case .write(var w):
                w.id = "\(tag)-\(w.id!)"
                w.goal = goals[Int(w.goal.split(separator: "-").last!)!]
                return .write(w)
            }
        }
    }

    private func writeWorkload(_ ops: [WorkloadOp], to dir: URL, _ name: String) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try Data(ops.map(\.jsonLine).joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The canonical clusters of the union of `workloads` (each applied in its order), from
    /// the in-memory engine.
    private func expectedClusters(_ workloads: [[WorkloadOp]]) throws -> String {
        let service = try MemoryService(engine: InMemoryEngine())
        defer { try? service.close() }
        for ops in workloads { _ = try WorkloadReplayer.replay(ops, into: service) }
        return CanonicalClusters.json(try service.clusters())
    }

    /// Checks the file after every process ended: nothing pending, the stored clusters (read
    /// as stored, not recomputed) equal `expected`, and equal a full re-clustering.
    private func checkStored(_ db: String, expected: String, _ context: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let engine = try SQLiteEngine(path: db, readOnly: true)
        defer { try? engine.close() }
        XCTAssertEqual(try engine.goalsPendingClustering(), [], "\(context): clustering left pending", file: file, line: line)
        var groups: [GoalClusters] = []
        for g in try engine.goals() {
            let a = try engine.clusterAssignments(goal: g)
            if !a.isEmpty { groups.append(CanonicalClusters.group(goal: g, assignments: a)) }
            let full = LouvainClustering.assignments(try engine.conceptGraph(goal: g), theta: 2)
            XCTAssertEqual(a, full, "\(context): stored clusters of goal \(g) differ from its graph's", file: file, line: line)
        }
        XCTAssertEqual(
            CanonicalClusters.json(groups), expected, "\(context): stored clusters differ from the model of the union", file: file,
            line: line)
    }

    /// `count` replay processes at once on one file; `sameGoals` makes them write the same goals.
    private func replayers(_ count: Int, sameGoals: Bool) throws {
        var failures = 0
        for run in 0..<repeats {
            let dir = try temporaryDirectory()
            let db = dir.appendingPathComponent("m.sqlite").path
            var workloads: [[WorkloadOp]] = []
            var files: [String] = []
            for p in 0..<count {
                let goals = sameGoals ? ["alpha", "beta", "gamma"] : ["p\(p)-alpha", "p\(p)-beta"]
                let ops = workload(tag: "r\(run)p\(p)", goals: goals, operations: 800, seed: UInt64(run * 10 + p + 1))
                workloads.append(ops)
                files.append(try writeWorkload(ops, to: dir, "w\(p).jsonl"))
            }
            let procs = try files.map { try start(["memory", "replay", $0, "--db", db], cwd: dir) }
            for (i, p) in procs.enumerated() {
                let r = p.wait()
                XCTAssertEqual(r.status, 0, "run \(run), replayer \(i): \(r.stderr)")
                if r.status != 0 { failures += 1 }
            }
            try checkStored(
                db, expected: try expectedClusters(workloads), "run \(run) (\(count) replayers, \(sameGoals ? "same" : "different") goals)")
            // The read-only command agrees.
            let clusters = try TestSupport.runPlughost(["memory", "clusters", "--json", "--db", db])
            XCTAssertEqual(clusters.status, 0, clusters.description)
            XCTAssertEqual(clusters.stdout.trimmingCharacters(in: .whitespacesAndNewlines), try expectedClusters(workloads))
        }
        XCTAssertEqual(failures, 0)
    }

    func testTwoReplayersOfTheSameGoals() throws { try replayers(2, sameGoals: true) }
    func testThreeReplayersOfTheSameGoals() throws { try replayers(3, sameGoals: true) }
    func testFourReplayersOfTheSameGoals() throws { try replayers(4, sameGoals: true) }
    func testTwoReplayersOfDifferentGoals() throws { try replayers(2, sameGoals: false) }

    /// A writer while `stats`, `memory clusters` and `memory recall` loop on the same file:
    /// the read-only commands all succeed and change nothing; the final clusters are exact.
    func testReadOnlyCommandsBesideAWriter() throws {
        for run in 0..<max(1, repeats / 2) {
            let dir = try temporaryDirectory()
            let db = dir.appendingPathComponent("m.sqlite").path
            let ops = workload(tag: "w\(run)", goals: ["alpha", "beta"], operations: 4000, seed: UInt64(100 + run))
            // A first, short write makes the file exist before the readers start.
            let first = workload(tag: "first\(run)", goals: ["alpha"], operations: 20, seed: 7)
            let seed = try TestSupport.runPlughost(["memory", "replay", try writeWorkload(first, to: dir, "first.jsonl"), "--db", db])
            XCTAssertEqual(seed.status, 0, seed.description)
            let writer = try start(["memory", "replay", try writeWorkload(ops, to: dir, "w.jsonl"), "--db", db], cwd: dir)
            var readerRuns = 0
            repeat {
                for args in [["stats"], ["memory", "clusters"], ["memory", "recall", "--goal", "alpha", "--concept", "g0-c1"]] {
                    let r = try TestSupport.runPlughost(args + ["--db", db])
                    XCTAssertEqual(r.status, 0, "run \(run), \(args.joined(separator: " ")): \(r.description)")
                    readerRuns += 1
                }
            } while writer.process.isRunning
            let w = writer.wait()
            XCTAssertEqual(w.status, 0, "run \(run), writer: \(w.stderr)")
            try checkStored(db, expected: try expectedClusters([first, ops]), "run \(run) (writer + \(readerRuns) read-only commands)")
        }
    }

    /// A writer of some goals plus many short writers of another goal.
    func testShortWritesToAnotherGoalBesideAWriter() throws {
        for run in 0..<max(1, repeats / 2) {
            let dir = try temporaryDirectory()
            let db = dir.appendingPathComponent("m.sqlite").path
            let ops = workload(tag: "w\(run)", goals: ["alpha", "beta"], operations: 4000, seed: UInt64(200 + run))
            let writer = try start(["memory", "replay", try writeWorkload(ops, to: dir, "w.jsonl"), "--db", db], cwd: dir)
            var shorts: [[WorkloadOp]] = []
            var k = 0
            repeat {
                let s = workload(tag: "s\(run)-\(k)", goals: ["other"], operations: 12, seed: UInt64(300 + k))
                let r = try TestSupport.runPlughost(["memory", "replay", try writeWorkload(s, to: dir, "s\(k).jsonl"), "--db", db])
                XCTAssertEqual(r.status, 0, "run \(run), short writer \(k): \(r.description)")
                if r.status == 0 { shorts.append(s) }
                k += 1
            } while writer.process.isRunning && k < 40
            let w = writer.wait()
            XCTAssertEqual(w.status, 0, "run \(run), writer: \(w.stderr)")
            try checkStored(db, expected: try expectedClusters([ops] + shorts), "run \(run) (writer + \(k) short writers)")
        }
    }

    /// Two `plughost run` of the quickstart at once in a fresh folder (the default database,
    /// created by both at once): both succeed, and the memory is that of two runs in a row.
    func testTwoPipelineRunsAtOnceOnAFreshFolder() throws {
        let pipeline = TestSupport.repoRoot.appendingPathComponent("examples/pipelines/quickstart.yaml").path
        // A project folder (an empty .plughost/): the default database is made in it by the
        // first write, here by both processes at once.
        let reference = try temporaryDirectory()
        try FileManager.default.createDirectory(at: reference.appendingPathComponent(".plughost"), withIntermediateDirectories: true)
        for _ in 0..<2 {
            let r = try TestSupport.runPlughost(["run", pipeline, "--quiet"], cwd: reference)
            XCTAssertEqual(r.status, 0, r.description)
        }
        let expected = try TestSupport.runPlughost(["memory", "clusters", "--json"], cwd: reference)
        XCTAssertEqual(expected.status, 0, expected.description)
        for run in 0..<repeats {
            let dir = try temporaryDirectory()
            try FileManager.default.createDirectory(at: dir.appendingPathComponent(".plughost"), withIntermediateDirectories: true)
            let procs = try (0..<2).map { _ in try start(["run", pipeline, "--quiet"], cwd: dir) }
            for (i, p) in procs.enumerated() {
                let r = p.wait()
                XCTAssertEqual(r.status, 0, "run \(run), pipeline \(i): \(r.stderr)")
            }
            let db = dir.appendingPathComponent(".plughost/memory.sqlite").path
            try checkStored(db, expected: expected.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "run \(run) (two pipelines)")
        }
    }

    /// N processes creating the same new database at once all succeed.
    func testProcessesCreatingOneNewFileAtOnce() throws {
        for run in 0..<repeats {
            let dir = try temporaryDirectory()
            let db = dir.appendingPathComponent("new/nested/m.sqlite").path
            var workloads: [[WorkloadOp]] = []
            var procs: [Running] = []
            for p in 0..<4 {
                let ops = workload(tag: "c\(run)p\(p)", goals: ["alpha"], operations: 30, seed: UInt64(p + 1))
                workloads.append(ops)
                procs.append(try start(["memory", "replay", try writeWorkload(ops, to: dir, "w\(p).jsonl"), "--db", db], cwd: dir))
            }
            for (i, p) in procs.enumerated() {
                let r = p.wait()
                XCTAssertEqual(r.status, 0, "run \(run), process \(i): \(r.stderr)")
            }
            try checkStored(db, expected: try expectedClusters(workloads), "run \(run) (4 processes creating the file)")
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("new/nested").path)
                .filter { $0.contains(".new-") }
            XCTAssertEqual(leftovers, [], "temporary files left behind")
        }
    }

    /// One of two concurrent writers is killed with SIGKILL; after the survivor exits (and so
    /// flushed, finishing the goals the killed one left pending), the stored clusters are the
    /// model of the memories the file holds.
    func testKilledWriterBesideASurvivor() throws {
        for run in 0..<max(1, repeats / 2) {
            let dir = try temporaryDirectory()
            let db = dir.appendingPathComponent("m.sqlite").path
            let victimOps = workload(tag: "v\(run)", goals: ["alpha", "beta"], operations: 60000, seed: UInt64(400 + run))
            let survivorOps = workload(tag: "s\(run)", goals: ["alpha", "beta"], operations: 3000, seed: UInt64(500 + run))
            let victim = try start(["memory", "replay", try writeWorkload(victimOps, to: dir, "v.jsonl"), "--db", db], cwd: dir)
            /// Waits until the file holds at least `count` memories whose ids start with `prefix`.
            func waitFor(_ prefix: String, _ count: Int) {
                let deadline = Date().addingTimeInterval(60)
                while Date() < deadline {
                    usleep(10_000)
                    if let engine = try? SQLiteEngine(path: db, readOnly: true) {
                        defer { try? engine.close() }
                        let n: Int? =
                            try? engine.pool.read {
                                try Int.fetchOne(
                                    $0, sql: "SELECT count(*) FROM memories WHERE substr(id, 1, ?) = ?",
                                    arguments: [prefix.utf8.count, prefix])
                            } ?? 0
                        if (n ?? 0) >= count { return }
                    }
                }
                XCTFail("run \(run): the file never held \(count) memories of \(prefix)")
            }
            waitFor("v\(run)-", 200)
            let survivor = try start(["memory", "replay", try writeWorkload(survivorOps, to: dir, "s.jsonl"), "--db", db], cwd: dir)
            // Kill the victim while both write.
            waitFor("s\(run)-", 100)
            XCTAssertTrue(victim.process.isRunning, "run \(run): the victim finished before both wrote")
            kill(victim.process.processIdentifier, SIGKILL)
            _ = victim.wait()
            XCTAssertEqual(victim.process.terminationReason, .uncaughtSignal, "run \(run): the victim finished before it was killed")
            let s = survivor.wait()
            XCTAssertEqual(s.status, 0, "run \(run), survivor: \(s.stderr)")
            // The model: the memories the file holds, replayed into the in-memory engine.
            let engine = try SQLiteEngine(path: db, readOnly: true)
            let ids = try engine.pool.read { try String.fetchAll($0, sql: "SELECT id FROM memories ORDER BY seq") }
            let held: [WorkloadOp] = try ids.map { id in
                let m = try XCTUnwrap(try engine.memory(id: id))
                return .write(
                    MemoryWrite(goal: m.goal, plugin: m.plugin, id: m.id, content: m.content, concepts: m.concepts, dependsOn: m.dependsOn))
            }
            try engine.close()
            var survivorLive = Set<String>()
            for op in survivorOps {
                switch op {
                case .write(let w): survivorLive.insert(w.id!)
                case .forget(let id): survivorLive.remove(id)
                }
            }
            XCTAssertTrue(survivorLive.isSubset(of: Set(ids)), "run \(run): the survivor's memories are not all there")
            try checkStored(db, expected: try expectedClusters([held]), "run \(run) (killed writer + survivor)")
        }
    }

    /// Two `SQLiteEngine` objects in one process stand for two processes (each keeps its own
    /// marks and its write path its own graphs), with a deterministic interleaving: chunks of
    /// each workload alternate at random, clustering runs synchronously every 3 writes of a
    /// goal, and either path flushes now and then. After every flush (which finishes every
    /// goal the file marks pending, the other path's too) the stored clusters are exactly the
    /// model of everything both committed.
    func testTwoWritePathsInterleavedDeterministically() throws {
        for seed in UInt64(1)...UInt64(max(2, repeats)) {
            let dir = try temporaryDirectory()
            let db = dir.appendingPathComponent("m.sqlite").path
            var config = MemoryConfiguration()
            config.backgroundClustering = false
            config.clusteringThreshold = 3
            let services = [
                try MemoryService(engine: try SQLiteEngine(path: db), configuration: config),
                try MemoryService(engine: try SQLiteEngine(path: db), configuration: config),
            ]
            defer { for s in services { try? s.close() } }
            let workloads = [
                workload(tag: "a\(seed)", goals: ["alpha", "beta"], operations: 300, seed: seed),
                workload(tag: "b\(seed)", goals: ["alpha", "gamma"], operations: 300, seed: seed + 100),
            ]
            var next = [0, 0]
            var done: [[WorkloadOp]] = [[], []]
            var rng = SplitMix64(seed: seed)
            var flushes = 0
            while next[0] < workloads[0].count || next[1] < workloads[1].count {
                let k = next[0] >= workloads[0].count ? 1 : next[1] >= workloads[1].count ? 0 : Int(rng.next() % 2)
                let n = 1 + Int(rng.next() % 6)
                let chunk = Array(workloads[k][next[k]..<min(workloads[k].count, next[k] + n)])
                next[k] += chunk.count
                for op in chunk {
                    switch op {
                    case .write(let w): _ = try services[k].write(w)
                    case .forget(let id): _ = try services[k].forget(id: id)
                    }
                }
                done[k] += chunk
                if rng.next() % 8 == 0 {
                    try services[Int(rng.next() % 2)].flush()
                    flushes += 1
                    try checkStored(db, expected: try expectedClusters(done), "seed \(seed), flush \(flushes)")
                }
            }
            try services[0].flush()
            try checkStored(db, expected: try expectedClusters(done), "seed \(seed), final flush")
        }
    }
}
