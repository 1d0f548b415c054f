import Foundation
import PostgresNIO
import XCTest

import PlugHostTestSupport
@testable import PlugHost
@testable import PlugHostCore
@testable import PlugHostMemory
@testable import PlugHostSQLite
@testable import PlugHostPostgres
@testable import PlugHostPipeline
@testable import PlugHostTools

/// Issue 6: the PostgreSQL engine against a real server. `.ci/run` starts a throwaway
/// PostgreSQL 15 (`.ci/postgres.sh`) and sets `PLUGHOST_TEST_POSTGRES_URL`,
/// `PLUGHOST_TEST_POSTGRES_DIR` and `PLUGHOST_REQUIRE_POSTGRES=1`, so these tests run in CI
/// and fail there rather than skip. Locally: `eval "$(.ci/postgres.sh start /tmp/phpg)"`.
/// Every test works in a fresh database of its own.
final class PostgresEngineTests: XCTestCase {
    private static var serverURL: String {
        get throws {
            if let url = ProcessInfo.processInfo.environment["PLUGHOST_TEST_POSTGRES_URL"], !url.isEmpty { return url }
            if ProcessInfo.processInfo.environment["PLUGHOST_REQUIRE_POSTGRES"] == "1" {
                XCTFail("PLUGHOST_REQUIRE_POSTGRES=1 but PLUGHOST_TEST_POSTGRES_URL is not set")
            }
            throw XCTSkip("no PostgreSQL: set PLUGHOST_TEST_POSTGRES_URL (eval \"$(.ci/postgres.sh start /tmp/phpg)\")")
        }
    }

    /// A fresh, empty database on the test server; dropped after the test. Returns its URL.
    private func freshDatabase() throws -> String {
        var location = try PostgresLocation(url: try Self.serverURL)
        let admin = try PostgresConnectionPool(location)
        defer { admin.close() }
        let name = "plughost_t_\(UInt32.random(in: 0..<UInt32.max))"
        try admin.query("creating a test database", "CREATE DATABASE \(unescaped: name)")
        addTeardownBlock {
            if let admin = try? PostgresConnectionPool(try PostgresLocation(url: try Self.serverURL)) {
                _ = try? admin.query("dropping a test database", "DROP DATABASE IF EXISTS \(unescaped: name) WITH (FORCE)")
                admin.close()
            }
        }
        location.database = name
        return FleetBenchmark.scratchURLString(location)
    }

    private func psql(_ url: String, _ sql: String) throws {
        let r = try TestSupport.run("psql", [url, "-v", "ON_ERROR_STOP=1", "-qc", sql], timeout: 60)
        XCTAssertEqual(r.status, 0, r.description)
    }

    private var executable: String {
        get throws { try TestSupport.plughostExecutable() }
    }

    private func service(_ url: String, optimized: Bool = true, threshold: Int? = nil) throws -> MemoryService {
        var config = optimized ? MemoryConfiguration() : MemoryConfiguration.baseline
        if let threshold { config.clusteringThreshold = threshold }
        return try MemoryService(engine: PostgresEngine(url: url), configuration: config)
    }

    private func replay(_ ops: [WorkloadOp], into s: MemoryService) throws {
        for op in ops {
            switch op {
            case .write(let w): _ = try s.write(w)
            case .forget(let id): _ = try s.forget(id: id)
            }
        }
    }

    private func inMemoryDigest(_ ops: [WorkloadOp]) throws -> String {
        let m = try MemoryService(engine: InMemoryEngine())
        try replay(ops, into: m)
        try m.flush()
        return CanonicalClusters.digest(try m.clusters())
    }

    // MARK: - One host

    func testOptimizedAndEagerEqualTheInMemoryEngine() throws {
        let ops = WorkloadGenerator(operations: 600, concepts: 80, seed: 11).generate()
        let expected = try inMemoryDigest(ops)
        for optimized in [true, false] {
            let url = try freshDatabase()
            let s = try service(url, optimized: optimized)
            try replay(ops, into: s)
            try s.flush()
            XCTAssertEqual(CanonicalClusters.digest(try s.clusters()), expected, "optimized: \(optimized)")
            XCTAssertEqual(try s.verifyClusters(), [], "stored clusters equal a full re-clustering")
            XCTAssertEqual(try s.engine.goalsPendingClustering(), [])
            try s.close()
        }
    }

    func testRecallByConceptPluginAndTextAndForget() throws {
        let url = try freshDatabase()
        let s = try service(url)
        let a = try s.write(MemoryWrite(goal: "g", plugin: "notes", content: "The quick brown fox", concepts: ["Fox", "animal"]))
        let b = try s.write(
            MemoryWrite(
                goal: "g", plugin: "text", content: "A lazy dog sleeps", concepts: ["dog", "animal"],
                dependsOn: [Dependency("dog", "animal")], metadata: #"{"k":1}"#))
        _ = try s.write(MemoryWrite(goal: "other", plugin: "notes", content: "fox elsewhere", concepts: ["fox"]))
        XCTAssertEqual(try s.recall(goal: "g", .concept("animal")).map(\.memory.id), [b, a], "newest first")
        XCTAssertEqual(try s.recall(goal: "g", .concept(" FOX ")).map(\.memory.id), [a], "normalised before lookup")
        XCTAssertEqual(try s.recall(goal: "g", .plugin("text")).map(\.memory.id), [b])
        let text = try s.recall(goal: "g", .text("fox sleeps"))
        XCTAssertEqual(Set(text.map(\.memory.id)), [a, b], "any of the words, this goal only")
        XCTAssertTrue(text.allSatisfy { $0.score > 0 })
        let stored = try XCTUnwrap(try s.memory(id: b))
        XCTAssertEqual(stored.dependsOn, [Dependency("dog", "animal")])
        XCTAssertEqual(stored.metadata, #"{"k":1}"#)
        XCTAssertEqual(stored.plugin, "text")
        XCTAssertTrue(try s.forget(id: a))
        XCTAssertFalse(try s.forget(id: a), "already forgotten")
        XCTAssertNil(try s.memory(id: a))
        XCTAssertEqual(try s.recall(goal: "g", .concept("fox")).count, 0)
        try s.flush()
        let graph = try s.engine.conceptGraph(goal: "g")
        XCTAssertEqual(graph.concepts, ["animal": 1, "dog": 1])
        XCTAssertEqual(graph.edges.count, 1)
        XCTAssertEqual(graph.edges.first?.counts, EdgeCounts(co: 1, dep: 1))
        XCTAssertEqual(try s.engine.goals(), ["g", "other"])
        try s.close()
    }

    func testDuplicateCallerIDIsRejectedAndTTLExpires() throws {
        let url = try freshDatabase()
        let clock = ManualClock(start: 1000)
        var config = MemoryConfiguration()
        config.clock = clock
        let s = try MemoryService(engine: PostgresEngine(url: url), configuration: config)
        _ = try s.write(MemoryWrite(goal: "g", plugin: "p", id: "fixed", content: "one", concepts: ["a", "b"], ttlMilliseconds: 5000))
        XCTAssertThrowsError(try s.write(MemoryWrite(goal: "g", plugin: "p", id: "fixed", content: "two", concepts: ["a"]))) { e in
            XCTAssertTrue("\(e)".contains("already exists"), "\(e)")
        }
        clock.advance(6)
        XCTAssertNil(try s.memory(id: "fixed"), "expired")
        XCTAssertEqual(try s.sweepExpired(), 1)
        try s.flush()
        XCTAssertEqual(try s.clusters(), [])
        try s.close()
    }

    func testNULCharactersAreRejectedAloneNotTheWholeCommit() throws {
        let url = try freshDatabase()
        let s = try service(url)
        let results = s.write([
            MemoryWrite(goal: "g", plugin: "p", content: "fine", concepts: ["a"]),
            MemoryWrite(goal: "g", plugin: "p", content: "bad\u{0}text", concepts: ["a"]),
            MemoryWrite(goal: "g", plugin: "p", content: "fine too", concepts: ["a\u{0}b"]),
            MemoryWrite(goal: "g", plugin: "p", content: "also fine", concepts: ["a", "b"]),
        ])
        XCTAssertNoThrow(try results[0].get())
        XCTAssertThrowsError(try results[1].get()) { XCTAssertTrue("\($0)".contains("content contains a NUL"), "\($0)") }
        XCTAssertThrowsError(try results[2].get()) { XCTAssertTrue("\($0)".contains("concepts[0] contains a NUL"), "\($0)") }
        XCTAssertNoThrow(try results[3].get())
        XCTAssertEqual(try s.recall(goal: "g", .concept("a")).count, 2)
        try s.close()
    }

    // MARK: - Contexts

    func testContextsPersistAndAreNotServedStaleAcrossHosts() throws {
        let url = try freshDatabase()
        let hostA = try service(url), hostB = try service(url)
        try hostA.setContextValue(goal: "g", plugin: "counter", key: "n", value: "1")
        XCTAssertEqual(try hostB.contextValue(goal: "g", plugin: "counter", key: "n"), "1")
        // B has it cached now; A changes it: B must see the change, not its cached copy.
        try hostA.setContextValue(goal: "g", plugin: "counter", key: "n", value: "2")
        XCTAssertEqual(try hostB.contextValue(goal: "g", plugin: "counter", key: "n"), "2")
        try hostB.setContextValue(goal: "g", plugin: "counter", key: "n", value: nil)
        XCTAssertNil(try hostA.contextValue(goal: "g", plugin: "counter", key: "n"))
        try hostB.setContextValue(goal: "g", plugin: "counter", key: "n", value: "3")
        XCTAssertEqual(try hostB.contextValue(goal: "g", plugin: "counter", key: "n"), "3", "a host reads its own write")
        try hostA.close()
        try hostB.close()
        // A new process (a new service) continues from the stored value.
        let later = try service(url)
        XCTAssertEqual(try later.contextValue(goal: "g", plugin: "counter", key: "n"), "3")
        try later.close()
    }

    // MARK: - Many hosts

    private func startWorker(_ url: String, host: Int, ops: Int, writers: Int = 8, printAcks: Bool = false) throws -> (Process, Pipe, Pipe)
    {
        let p = Process()
        p.environment = TestSupport.hermetic(ProcessInfo.processInfo.environment)
        p.executableURL = URL(fileURLWithPath: try executable)
        p.arguments =
            ["bench", "fleet-worker", "--db", url, "--host", "\(host)", "--ops", "\(ops)", "--writers", "\(writers)"]
            + (printAcks ? ["--print-acks"] : [])
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        p.standardError = FileHandle.nullDevice
        try p.run()
        return (p, input, output)
    }

    private func readLine(_ pipe: Pipe) -> String? { FleetBenchmark.readLine(pipe) }

    /// Every acknowledged write of `ops` (all acknowledged) is stored, every forgotten one is gone.
    private func assertAllPresent(_ ops: [WorkloadOp], engine: any MemoryEngine, file: StaticString = #filePath, line: UInt = #line) throws
    {
        var live = Set<String>(), gone = Set<String>()
        for op in ops {
            switch op {
            case .write(let w): live.insert(w.id!)
            case .forget(let id): live.remove(id); gone.insert(id)
            }
        }
        let stored = try engine.existingMemories(Array(live.union(gone)))
        XCTAssertEqual(Set(stored.keys), live, "stored memories are exactly the live acknowledged ones", file: file, line: line)
    }

    func testFourHostsWritingTheSameGoalsConcurrently() throws {
        let url = try freshDatabase()
        _ = try service(url).close()  // schema created once, before the hosts race
        let opsPerHost = 5_500  // 4 × ~5.2k writes (> 20k) and ~1.1k forgets
        let workers = try (0..<4).map { try startWorker(url, host: $0, ops: opsPerHost) }
        for (p, _, out) in workers { XCTAssertEqual(readLine(out), "ready", "worker \(p.processIdentifier)") }
        for (_, input, _) in workers { input.fileHandleForWriting.write(Data("go\n".utf8)) }
        var writes = 0
        for (p, _, out) in workers {
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0, text)
            let report = try JSONDecoder().decode(FleetBenchmark.WorkerReport.self, from: Data(text.utf8))
            writes += report.writes
        }
        XCTAssertGreaterThanOrEqual(writes, 20_000)
        let all = (0..<4).flatMap { FleetBenchmark.workload(host: $0, operations: opsPerHost, seed: 42) }
        let reader = try service(url)
        try reader.flush()
        try assertAllPresent(all, engine: reader.engine)
        XCTAssertEqual(
            CanonicalClusters.digest(try reader.clusters()), try FleetBenchmark.inMemoryDigest(hosts: 4, operations: opsPerHost, seed: 42),
            "clusters equal the in-memory engine's for the same writes")
        XCTAssertEqual(try reader.verifyClusters(), [])
        try assertCountsMatchStoredMemories(reader)
        try reader.close()
    }

    /// The stored counts equal those recomputed from the stored memories (nothing half-applied,
    /// no lost update), and so do the clusters.
    private func assertCountsMatchStoredMemories(_ s: MemoryService, file: StaticString = #filePath, line: UInt = #line) throws {
        let oracle = try MemoryService(engine: InMemoryEngine())
        for goal in try s.engine.goals() {
            for plugin in ["text", "planner", "notes"] {
                for m in try s.engine.memories(goal: goal, plugin: plugin, limit: 1_000_000) {
                    _ = try oracle.write(
                        MemoryWrite(
                            goal: m.goal, plugin: m.plugin, id: m.id, content: m.content,
                            concepts: m.concepts, dependsOn: m.dependsOn))
                }
            }
        }
        try oracle.flush()
        for goal in try s.engine.goals() {
            let got = try s.engine.conceptGraph(goal: goal), want = try oracle.engine.conceptGraph(goal: goal)
            XCTAssertEqual(got.concepts, want.concepts, "concept counts of \(goal)", file: file, line: line)
            func edges(_ g: ConceptGraphSnapshot) -> [String: EdgeCounts] {
                Dictionary(uniqueKeysWithValues: g.edges.map { ("\($0.a)|\($0.b)", $0.counts) })
            }
            XCTAssertEqual(edges(got), edges(want), "edge counts of \(goal)", file: file, line: line)
        }
        XCTAssertEqual(CanonicalClusters.digest(try s.clusters()), CanonicalClusters.digest(try oracle.clusters()), file: file, line: line)
    }

    func testHostKilledMidBatchLosesNothingAcknowledgedAndOthersContinue() throws {
        let url = try freshDatabase()
        _ = try service(url).close()
        let victim = try startWorker(url, host: 0, ops: 200_000, writers: 16, printAcks: true)
        let others = try (1...2).map { try startWorker(url, host: $0, ops: 3_000) }
        for (_, _, out) in [victim] + others { XCTAssertEqual(readLine(out), "ready") }
        for (_, input, _) in [victim] + others { input.fileHandleForWriting.write(Data("go\n".utf8)) }
        var acked: [(String, String)] = []
        let target = 300 + Int.random(in: 0..<700)
        while acked.count < target, let l = readLine(victim.2) {
            let parts = l.split(separator: " ")
            if parts.count == 2 { acked.append((String(parts[0]), String(parts[1]))) }
        }
        // SIGKILL while 16 writers have commits in flight.
        kill(victim.0.processIdentifier, SIGKILL)
        victim.0.waitUntilExit()
        while let l = readLine(victim.2) {
            let parts = l.split(separator: " ")
            if parts.count == 2 { acked.append((String(parts[0]), String(parts[1]))) }
        }
        XCTAssertGreaterThanOrEqual(acked.count, target)
        for (p, _, out) in others {
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0, "the other hosts go on: \(text)")
        }
        let reader = try service(url)
        try reader.flush()
        var live = Set<String>(), gone = Set<String>()
        for (kind, id) in acked {
            if kind == "w" { live.insert(id) } else { live.remove(id); gone.insert(id) }
        }
        let stored = try reader.engine.existingMemories(Array(live.union(gone)))
        // A forget the kill cut off after its commit but before its acknowledgement was printed
        // may have happened: only writes the workload never forgets must all be there.
        let forgettable = Set(
            FleetBenchmark.workload(host: 0, operations: 200_000, seed: 42).compactMap { op -> String? in
                if case .forget(let id) = op { return id } else { return nil }
            })
        let mustStay = live.subtracting(forgettable)
        XCTAssertGreaterThan(mustStay.count, target / 2)
        XCTAssertEqual(Set(stored.keys).intersection(mustStay), mustStay, "every acknowledged write of the killed host is there")
        XCTAssertTrue(Set(stored.keys).isDisjoint(with: gone), "every acknowledged forget holds")
        let others_ = (1...2).flatMap { FleetBenchmark.workload(host: $0, operations: 3_000, seed: 42) }
        try assertAllPresent(others_, engine: reader.engine)
        try assertCountsMatchStoredMemories(reader)
        XCTAssertEqual(try reader.verifyClusters(), [])
        try reader.close()
    }

    func testServerRestartMidRunReconnectsAndNeverAcknowledgesAFailedWrite() throws {
        guard let dir = ProcessInfo.processInfo.environment["PLUGHOST_TEST_POSTGRES_DIR"] else {
            throw XCTSkip("PLUGHOST_TEST_POSTGRES_DIR is not set (the server is not ours to restart)")
        }
        let url = try freshDatabase()
        let s = try service(url)
        let acked = ThreadBox<[String]>([])
        let failures = ThreadBox<[String]>([])
        let stop = ThreadBox(false)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            defer { done.signal() }
            var i = 0
            while !stop.with({ $0 }) {
                i += 1
                do {
                    let id = try s.write(
                        MemoryWrite(goal: "g", plugin: "p", id: "r\(i)", content: "write \(i)", concepts: ["c\(i % 7)", "c\((i + 1) % 7)"]))
                    acked.with { $0.append(id) }
                } catch {
                    failures.with { $0.append("\(error)") }
                    usleep(20_000)
                }
            }
        }
        func waitFor(_ n: Int) {
            let deadline = Date().addingTimeInterval(60)
            while acked.with({ $0 }).count < n && Date() < deadline { usleep(10_000) }
        }
        waitFor(100)
        XCTAssertEqual(restartServer(dir), 0, "postgres.sh restart")
        let before = acked.with({ $0 }).count
        waitFor(before + 100)
        stop.with { $0 = true }
        done.wait()
        XCTAssertGreaterThanOrEqual(
            acked.with({ $0 }).count, before + 100, "the host reconnected and went on; failures: \(failures.with({ $0 }).prefix(3))")
        for f in failures.with({ $0 }) {
            XCTAssertTrue(f.contains("PostgreSQL") && f.contains("nothing of it was acknowledged"), "a clear error: \(f)")
        }
        let stored = try s.engine.existingMemories(acked.with({ $0 }))
        XCTAssertEqual(stored.count, acked.with({ $0 }).count, "every acknowledged write survived the restart")
        try s.flush()
        XCTAssertEqual(try s.verifyClusters(), [])
        try s.close()
    }

    /// Runs `.ci/postgres.sh restart DIR` and returns its exit status. (Spawned and reaped by
    /// hand: Foundation's Process left it a zombie here while writer threads were busy.)
    private func restartServer(_ dir: String) -> Int32 {
        let script = TestSupport.repoRoot.appendingPathComponent(".ci/postgres.sh").path
        var argv: [UnsafeMutablePointer<CChar>?] = [strdup(script), strdup("restart"), strdup(dir), nil]
        defer { for a in argv { free(a) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, script, nil, nil, &argv, environ) == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            if errno != EINTR { return 0 }  // reaped elsewhere
        }
        return (status >> 8) & 0xff
    }

    // MARK: - Bad conditions

    func testClearErrorsForBadURLPasswordDatabaseAndUnreachableServer() throws {
        let good = try PostgresLocation(url: try Self.serverURL)
        func openError(_ url: String) -> String {
            do {
                _ = try PostgresEngine(url: url)
                return "no error"
            } catch { return "\(error)" }
        }
        XCTAssertTrue(openError("mysql://u@h/db").contains("not postgres"))
        XCTAssertTrue(openError("postgres://u@h").contains("no database name"))
        XCTAssertTrue(openError("postgres://u@h/db?colour=blue").contains("unknown parameter \"colour\""))
        var wrong = good
        wrong.password = "not-the-password"
        let pw = openError(FleetBenchmark.scratchURLString(wrong))
        XCTAssertTrue(pw.contains("password authentication failed"), pw)
        XCTAssertFalse(pw.contains("not-the-password"), "the password is never printed: \(pw)")
        var missing = good
        missing.database = "plughost_no_such_db"
        XCTAssertTrue(openError(FleetBenchmark.scratchURLString(missing)).contains("does not exist"))
        // Nothing listens on port 1: refused at once.
        let refused = openError("postgres://u@127.0.0.1:1/db")
        XCTAssertTrue(refused.contains("cannot connect to PostgreSQL at postgres://u@127.0.0.1:1/db"), refused)
        // A black-holed address: the connect timeout bounds the wait.
        let start = Date()
        let timedOut = openError("postgres://u@10.255.255.1:5432/db?connect_timeout=1")
        XCTAssertTrue(timedOut.contains("cannot connect"), timedOut)
        XCTAssertLessThan(Date().timeIntervalSince(start), 10, "bounded by connect_timeout")
    }

    func testNewerSchemaAndForeignSchemaAreRefused() throws {
        let url = try freshDatabase()
        try PostgresEngine(url: url).close()
        try psql(url, "UPDATE plughost.meta SET value = '99' WHERE key = 'schema_version'")
        XCTAssertThrowsError(try PostgresEngine(url: url)) { XCTAssertTrue("\($0)".contains("newer plughost"), "\($0)") }
        let other = try freshDatabase()
        try psql(other, "CREATE SCHEMA plughost; CREATE TABLE plughost.mine (x int)")
        XCTAssertThrowsError(try PostgresEngine(url: other)) { XCTAssertTrue("\($0)".contains("did not create"), "\($0)") }
    }

    func testEngineSelectionFromTheCLIAndTheEmbeddingConfiguration() throws {
        let url = try freshDatabase()
        // A goal context carried from one host process to the next through the shared memory.
        for expected in ["1", "2"] {
            let r = try TestSupport.runPlughost(["call", "text", "tally", "visits", "--goal", "g1", "--engine", "postgres", "--db", url])
            XCTAssertEqual(r.status, 0, r.description)
            XCTAssertEqual(r.stdout, expected + "\n")
        }
        let stats = try TestSupport.runPlughost(["stats", "--engine", "postgres", "--db", url])
        XCTAssertEqual(stats.status, 0, stats.description)
        XCTAssertTrue(stats.stdout.contains("engine: postgres"), stats.stdout)
        XCTAssertFalse(stats.stdout.contains("plughost-test"), "no password in the output: \(stats.stdout)")
        let missing = try TestSupport.runPlughost(
            ["stats", "--engine", "postgres"], environment: TestSupport.environment(["PLUGHOST_DB": nil]))
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("needs a database URL"), missing.stderr)
        let savedDB = ProcessInfo.processInfo.environment["PLUGHOST_DB"]
        defer { if let savedDB { setenv("PLUGHOST_DB", savedDB, 1) } }
        unsetenv("PLUGHOST_DB")
        XCTAssertThrowsError(try JSONDecoder().decode(HostConfiguration.self, from: Data(#"{"engine":"postgres"}"#.utf8))) {
            XCTAssertTrue("\($0)".contains("database_path"), "\($0)")
        }
        let config = try JSONDecoder().decode(HostConfiguration.self, from: Data(#"{"engine":"postgres","database_path":"\#(url)"}"#.utf8))
        XCTAssertEqual(config.engine, .postgres)
    }
}
