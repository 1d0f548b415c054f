import Foundation
import PlugHost
import PlugHostIsolation
import PlugHostTestSupport
import Synchronization
import XCTest

/// The pool of workers of a process-isolated plugin: concurrent calls run in up to
/// `PluginLimits.workers` worker processes, started lazily; a crash or a timeout ends only its
/// own worker; shutdown stops them all. The `sleepy` fixture's `nap(ms)` sleeps (no CPU, so the
/// timings hold on a 2-core machine) and returns its worker's pid.
final class IsolatedPoolTests: XCTestCase {
    func makeHost(_ limits: PluginLimits = .default, state: URL) throws -> PluginHost {
        let dir = try TestSupport.requireBinaryDirectory()
        return PluginHost(
            memory: try MemoryService(engine: InMemoryEngine()), searchPath: PluginSearchPath(extra: [dir], environment: [:]),
            isolation: .process, limits: limits, quarantine: CrashQuarantine(file: state.appendingPathComponent("q.json").path))
    }

    /// Collects the results of calls made on several threads.
    final class Results: Sendable {
        let values = Mutex<[Int: Result<Int64, any Error>]>([:])
    }

    /// Runs `body(i)` for every `i` in `0..<n`, each on its own thread, all at once; returns the
    /// results in order and the wall time they took.
    func concurrently(_ n: Int, _ body: @escaping @Sendable (Int) throws -> Value) -> ([Result<Int64, any Error>], TimeInterval) {
        let results = Results()
        let group = DispatchGroup()
        let start = Date()
        for i in 0..<n {
            group.enter()
            Thread {
                let r = Result<Int64, any Error> {
                    guard case .int(let v) = try body(i) else { throw TestSupportError("not an int") }
                    return v
                }
                results.values.withLock { $0[i] = r }
                group.leave()
            }.start()
        }
        group.wait()
        let elapsed = Date().timeIntervalSince(start)
        return (results.values.withLock { d in (0..<n).map { d[$0]! } }, elapsed)
    }

    func isolated(_ p: LoadedPlugin) throws -> IsolatedPlugin { try XCTUnwrap(p.remote as? IsolatedPlugin) }

    func alive(_ pid: Int64) -> Bool { kill(pid_t(pid), 0) == 0 || errno != ESRCH }

    func testConcurrentCallsRunInParallelWorkersOnlyWhenThePoolAllowsIt() throws {
        let dir = try TestSupport.makeTempDirectory(for: self)
        let host = try makeHost(state: dir)
        defer { try? host.close() }
        let p = try host.load(try TestSupport.fixture("sleepy"))
        XCTAssertEqual(p.maxWorkers, 1, "one worker by default")
        let pool = try isolated(p)
        XCTAssertEqual(pool.workerCounts.live, 1, "the worker started at load")

        let (serial, serialTime) = concurrently(4) { _ in try p.call("nap", [.int(500)]) }
        let serialPids = Set(try serial.map { try $0.get() })
        XCTAssertEqual(serialPids.count, 1, "one worker runs every call")
        XCTAssertGreaterThan(serialTime, 1.9, "four 500 ms calls one after another")
        XCTAssertEqual(try p.call("pid", []), .int(try XCTUnwrap(serialPids.first)), "the first worker stays the idle one")

        p.setMaxWorkers(4)
        XCTAssertEqual(p.maxWorkers, 4)
        XCTAssertEqual(pool.workerCounts.live, 1, "workers start only when calls need them")
        let (parallel, parallelTime) = concurrently(4) { _ in try p.call("nap", [.int(500)]) }
        let parallelPids = Set(try parallel.map { try $0.get() })
        XCTAssertEqual(parallelPids.count, 4, "four calls at once, four workers")
        XCTAssertTrue(parallelPids.isSuperset(of: serialPids), "the first worker is one of them")
        XCTAssertLessThan(parallelTime, 0.7 * serialTime, "parallel \(parallelTime) s, serial \(serialTime) s")
        XCTAssertEqual(pool.workerCounts.live, 4)
        XCTAssertEqual(pool.workerCounts.idle, 4)

        // Sequential calls reuse the idle workers, and lowering the limit stops the surplus.
        XCTAssertTrue(parallelPids.contains(try XCTUnwrap(try p.call("pid", []).intValue)))
        p.setMaxWorkers(2)
        XCTAssertEqual(pool.workerCounts.live, 2)
        let left = parallelPids.filter(alive)
        XCTAssertEqual(left.count, 2, "the surplus workers were stopped")
        let (again, _) = concurrently(4) { _ in try p.call("nap", [.int(100)]) }
        XCTAssertEqual(Set(try again.map { try $0.get() }), left)
        p.setMaxWorkers(0)
        XCTAssertEqual(p.maxWorkers, 1, "at least one")
    }

    func testThePoolNeverRunsMoreWorkersThanItsLimit() throws {
        let dir = try TestSupport.makeTempDirectory(for: self)
        var limits = PluginLimits.default
        limits.workers = 3
        let host = try makeHost(limits, state: dir)
        defer { try? host.close() }
        let p = try host.load(try TestSupport.fixture("sleepy"))
        XCTAssertEqual(p.maxWorkers, 3)
        let pool = try isolated(p)
        let done = Atomic<Bool>(false)
        let peak = Atomic<Int>(0)
        let sampler = Thread {
            while !done.load(ordering: .relaxed) {
                peak.max(pool.workerCounts.live, ordering: .relaxed)
                usleep(1000)
            }
        }
        sampler.start()
        let (results, elapsed) = concurrently(12) { i in try p.call("nap", [.int(i % 2 == 0 ? 150 : 250)]) }
        done.store(true, ordering: .relaxed)
        let pids = Set(try results.map { try $0.get() })
        XCTAssertEqual(pids.count, 3, "12 calls at once in 3 workers: \(pids)")
        XCTAssertLessThanOrEqual(peak.load(ordering: .relaxed), 3)
        XCTAssertEqual(pool.workerCounts.live, 3)
        // 12 calls of 200 ms on average, 3 at a time: about 0.8 s, not 2.4 s.
        XCTAssertLessThan(elapsed, 2.0)
    }

    func testACrashOrATimeoutEndsOnlyItsOwnWorker() throws {
        let dir = try TestSupport.makeTempDirectory(for: self)
        var limits = PluginLimits.default
        limits.workers = 3
        let host = try makeHost(limits, state: dir)
        defer { try? host.close() }
        let lib = try TestSupport.fixture("sleepy")
        let p = try host.load(lib)
        let pool = try isolated(p)

        // A crash while two other calls run: they finish in their workers.
        let (crashing, _) = concurrently(3) { i in
            try p.call(i == 0 ? "crash_after" : "nap", [.int(i == 0 ? 200 : 800)])
        }
        guard case .failure(let error as CallError) = crashing[0] else { return XCTFail("\(crashing[0])") }
        XCTAssertEqual(error.code, .crashed)
        XCTAssertTrue(error.message.contains("crashed in function crash_after: SIGSEGV"), error.message)
        let survivors = Set(try crashing.dropFirst().map { try $0.get() })
        XCTAssertEqual(survivors.count, 2)
        XCTAssertTrue(survivors.allSatisfy(alive))
        XCTAssertEqual(pool.workerCounts.live, 2, "the crashed worker was discarded")
        let entry = try XCTUnwrap(
            CrashQuarantine(file: dir.appendingPathComponent("q.json").path).entry(sha256: PluginDigest.sha256(ofFile: lib)))
        XCTAssertEqual(entry.crashes.count, 1, "the crash is recorded")
        XCTAssertFalse(entry.isQuarantined)

        // A timeout while two other calls run: only its worker is killed.
        let nap = try XCTUnwrap(p.function(named: "nap"))
        let (timing, _) = concurrently(3) { i in
            i == 0 ? try nap.call([.int(5000)], timeout: .milliseconds(300)) : try nap.call([.int(900)])
        }
        guard case .failure(let timedOut as CallError) = timing[0] else { return XCTFail("\(timing[0])") }
        XCTAssertEqual(timedOut.code, .timedOut)
        XCTAssertTrue(timedOut.message.contains("timed out after 300 ms"), timedOut.message)
        let after = Set(try timing.dropFirst().map { try $0.get() })
        XCTAssertEqual(after.count, 2)
        XCTAssertTrue(after.allSatisfy(alive))
        XCTAssertEqual(pool.workerCounts.live, 2, "the timed-out worker was discarded")

        // A later call takes an idle worker; three at once start a fresh third one.
        let (three, _) = concurrently(3) { _ in try p.call("nap", [.int(300)]) }
        let pids = Set(try three.map { try $0.get() })
        XCTAssertEqual(pids.count, 3)
        XCTAssertTrue(pids.isSuperset(of: after))
    }

    func testShutdownStopsEveryWorkerIdleOrBusy() throws {
        let dir = try TestSupport.makeTempDirectory(for: self)
        var limits = PluginLimits.default
        limits.workers = 3
        let host = try makeHost(limits, state: dir)
        defer { try? host.close() }
        let p = try host.load(try TestSupport.fixture("sleepy"))
        let pool = try isolated(p)
        let (warm, _) = concurrently(3) { _ in try p.call("nap", [.int(300)]) }
        let pids = Set(try warm.map { try $0.get() })
        XCTAssertEqual(pids.count, 3)
        XCTAssertTrue(pids.allSatisfy(alive))

        // One call is busy when the plugin shuts down: it finishes, then its worker stops.
        let busy = Results()
        let finished = DispatchSemaphore(value: 0)
        Thread {
            let r = Result<Int64, any Error> {
                guard case .int(let v) = try p.call("nap", [.int(800)]) else { throw TestSupportError("not an int") }
                return v
            }
            busy.values.withLock { $0[0] = r }
            finished.signal()
        }.start()
        usleep(200_000)
        XCTAssertEqual(pool.workerCounts.idle, 2)
        let start = Date()
        p.shutdown()
        XCTAssertGreaterThan(Date().timeIntervalSince(start), 0.3, "shutdown waits for the busy call")
        XCTAssertEqual(pool.workerCounts.live, 0)
        finished.wait()
        let busyPid = try XCTUnwrap(busy.values.withLock { $0[0] }).get()
        XCTAssertTrue(pids.contains(busyPid))
        for pid in pids { XCTAssertFalse(alive(pid), "worker \(pid) still runs after shutdown") }

        let e = try TestSupport.expectError(CallError.self) { try p.call("pid", []) }
        XCTAssertEqual(e?.code, .unloaded)
        XCTAssertEqual(pool.workerCounts.live, 0, "no worker starts after shutdown")
    }
}

extension Value {
    fileprivate var intValue: Int64? {
        if case .int(let v) = self { return v }
        return nil
    }
}
