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

/// A committer for the queue under test: records every commit (its operations, their stop
/// marks, whether it came through `commitOne`), fails whole commits or single operations on
/// request, honours stop marks as the write path must, and checks that commits never overlap.
/// (`@unchecked`: its semaphores; everything it changes is behind `state` or atomics.)
final class RecordingCommitter: @unchecked Sendable {
    struct Commit {
        var ids: [String]
        var marks: [StopMark?]
        var solo: Bool
    }

    private struct State {
        var commits: [Commit] = []
        var active = 0
        var maxActive = 0
    }

    private let state = Mutex(State())
    /// A commit holding one of these ids fails as a whole (every operation gets the error).
    let failCommitsWith: Set<String>
    /// An operation with one of these ids fails alone (and stops its submission).
    let reject: Set<String>
    /// Seconds each commit takes.
    let work: Double
    /// Commits wait for this before they run when set (at most `gated` of them).
    let gate = DispatchSemaphore(value: 0)
    private let gatedCommits = Atomic<Int>(0)
    /// Signalled when a gated commit has started.
    let started = DispatchSemaphore(value: 0)

    init(failCommitsWith: Set<String> = [], reject: Set<String> = [], work: Double = 0, gated: Int = 0) {
        self.failCommitsWith = failCommitsWith
        self.reject = reject
        self.work = work
        gatedCommits.store(gated, ordering: .relaxed)
    }

    var commits: [Commit] { state.withLock { $0.commits } }
    var maxActive: Int { state.withLock { $0.maxActive } }

    static func id(_ op: QueuedOp) -> String {
        switch op {
        case .write(let m, _): m.id
        case .forget(let id, _): id
        }
    }

    func commit(_ ops: [QueuedOp], _ marks: [StopMark?], solo: Bool) -> [Result<OpOutcome, MemoryError>] {
        let n = state.withLock { s -> Int in
            s.active += 1
            s.maxActive = max(s.maxActive, s.active)
            s.commits.append(Commit(ids: ops.map(Self.id), marks: marks, solo: solo))
            return s.commits.count
        }
        if gatedCommits.wrappingSubtract(1, ordering: .relaxed).oldValue > 0 {
            started.signal()
            gate.wait()
        }
        if work > 0 { Thread.sleep(forTimeInterval: work) }
        defer { state.withLock { $0.active -= 1 } }
        let ids = ops.map(Self.id)
        if ids.contains(where: failCommitsWith.contains) {
            return ops.map { _ in .failure(MemoryError(.storage, "commit \(n) failed")) }
        }
        var out: [Result<OpOutcome, MemoryError>] = []
        for (op, mark) in zip(ops, marks) {
            if mark?.stopped == true {
                out.append(.failure(StopMark.skipped))
                continue
            }
            if reject.contains(Self.id(op)) {
                mark?.stop()
                out.append(.failure(MemoryError(.invalid, "rejected \(Self.id(op))")))
                continue
            }
            switch op {
            case .write(let m, _): out.append(.success(.written(m.id)))
            case .forget(_, let goal): out.append(.success(.forgotten(goal)))
            }
        }
        return out
    }
}

/// A write of a memory `id` (no concepts) as the queue sees it.
private func write(_ id: String, goal: String = "g") -> QueuedOp {
    .write(
        Memory(id: id, goal: goal, plugin: "p", content: "", concepts: [], dependsOn: [], metadata: nil, createdAt: 1, expiresAt: nil),
        callerID: true)
}

/// Results as short strings: "w:ID", "f:GOAL", or the error code.
private func ids(_ results: [Result<OpOutcome, MemoryError>]) -> [String] {
    results.map { r in
        switch r {
        case .success(.written(let id)): "w:\(id)"
        case .success(.deduplicated(let id)): "d:\(id)"
        case .success(.forgotten(let goal)): "f:\(goal ?? "-")"
        case .failure(let e): "\(e.code)"
        }
    }
}

/// Direct tests of `GroupCommitQueue`: ordering, group sizes, error propagation, stop marks,
/// many threads.
final class GroupCommitQueueTests: XCTestCase {
    /// The one place that knows how a queue is built and handed its committer.
    func makeQueue(_ c: RecordingCommitter, maxOps: Int = 4096) -> GroupCommitQueue {
        GroupCommitQueue(maxOps: maxOps, committer: c)
    }

    /// Runs `body` on a new thread; the returned semaphore is signalled when it returns.
    func spawn(_ body: @escaping @Sendable () -> Void) -> DispatchSemaphore {
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            body()
            done.signal()
        }
        return done
    }

    // MARK: - One caller

    func testLoneOperationCommitsAtOnceThroughCommitOne() {
        let c = RecordingCommitter()
        let q = makeQueue(c)
        XCTAssertEqual(ids([q.submit(write("a"))]), ["w:a"])
        XCTAssertEqual(ids([q.submit(.forget(id: "a", goal: "g"))]), ["f:g"])
        XCTAssertEqual(c.commits.map(\.ids), [["a"], ["a"]])
        XCTAssertEqual(c.commits.map(\.solo), [true, true], "a lone operation skips the arrays")
    }

    func testSubmissionKeepsOrderAndIsOneCommit() {
        let c = RecordingCommitter()
        let q = makeQueue(c)
        let r = q.submit([write("a"), write("b"), .forget(id: "x", goal: nil), write("c")])
        XCTAssertEqual(ids(r), ["w:a", "w:b", "f:-", "w:c"])
        XCTAssertEqual(c.commits.map(\.ids), [["a", "b", "x", "c"]])
        XCTAssertEqual(c.commits.map(\.solo), [false])
        XCTAssertEqual(q.submit([]).count, 0)
        XCTAssertEqual(c.commits.count, 1, "an empty submission commits nothing")
    }

    func testMaxOpsSplitsASubmissionInOrder() {
        let c = RecordingCommitter()
        let q = makeQueue(c, maxOps: 3)
        let r = q.submit((0..<8).map { write("w\($0)") })
        XCTAssertEqual(ids(r), (0..<8).map { "w:w\($0)" })
        XCTAssertEqual(c.commits.map(\.ids), [["w0", "w1", "w2"], ["w3", "w4", "w5"], ["w6", "w7"]])
        // maxOps below 1 is taken as 1.
        let one = RecordingCommitter()
        XCTAssertEqual(ids(makeQueue(one, maxOps: 0).submit([write("a"), write("b")])), ["w:a", "w:b"])
        XCTAssertEqual(one.commits.map(\.ids), [["a"], ["b"]])
    }

    func testARejectedOperationDoesNotAffectItsNeighbours() {
        let c = RecordingCommitter(reject: ["bad"])
        let q = makeQueue(c)
        XCTAssertEqual(ids(q.submit([write("a"), write("bad"), write("c")])), ["w:a", "invalid", "w:c"])
        XCTAssertEqual(c.commits.first?.marks.map { $0 == nil }, [true, true, true], "no stop mark without stopAtFirstFailure")
    }

    // MARK: - Several callers

    /// While a commit runs, submissions queue up; the next leader takes them all in one commit,
    /// in arrival order; when that commit fails, every waiter of it gets the error, and the
    /// queue goes on.
    func testWaitersShareTheNextCommitAndAllGetItsFailure() {
        let c = RecordingCommitter(failCommitsWith: ["bad"], gated: 1)
        let q = makeQueue(c)
        let results = Mutex<[Int: [String]]>([:])
        let leader = spawn {
            let r = ids(q.submit([write("lead")])); results.withLock { $0[0] = r }
        }
        c.started.wait()  // the leader's commit is running (and held)
        var waiters: [DispatchSemaphore] = []
        for k in 1...6 {
            let ops = k == 4 ? [write("s4a"), write("bad")] : [write("s\(k)a"), write("s\(k)b")]
            waiters.append(
                spawn {
                    let r = ids(q.submit(ops)); results.withLock { $0[k] = r }
                })
            Thread.sleep(forTimeInterval: 0.05)  // arrival order 1…6
        }
        Thread.sleep(forTimeInterval: 0.3)
        c.gate.signal()
        leader.wait()
        for w in waiters { w.wait() }
        let r = results.withLock { $0 }
        XCTAssertEqual(r[0], ["w:lead"])
        for k in 1...6 { XCTAssertEqual(r[k], ["storage", "storage"], "waiter \(k) of the failed commit") }
        XCTAssertEqual(
            c.commits.map(\.ids), [["lead"], (1...6).flatMap { k in k == 4 ? ["s4a", "bad"] : ["s\(k)a", "s\(k)b"] }],
            "one commit for everything queued meanwhile, in arrival order")
        // The failure is per commit: the queue goes on.
        XCTAssertEqual(ids(q.submit([write("after")])), ["w:after"])
    }

    /// A stop mark ties the operations of one submission, whichever commits they land in, and
    /// no other submission's.
    func testStopMarkSkipsTheRestOfItsSubmissionOnly() {
        let c = RecordingCommitter(reject: ["bad"], gated: 1)
        let q = makeQueue(c)
        let results = Mutex<[String: [String]]>([:])
        let leader = spawn { _ = q.submit([write("lead")]) }
        c.started.wait()
        let a = spawn {
            let r = ids(q.submit([write("a1"), write("bad"), write("a3"), write("a4")], stopAtFirstFailure: true))
            results.withLock { $0["stop"] = r }
        }
        Thread.sleep(forTimeInterval: 0.05)
        let b = spawn {
            let r = ids(q.submit([write("b1"), write("b2")]))
            results.withLock { $0["other"] = r }
        }
        Thread.sleep(forTimeInterval: 0.3)
        c.gate.signal()
        for s in [leader, a, b] { s.wait() }
        XCTAssertEqual(results.withLock { $0["stop"] }, ["w:a1", "invalid", "notApplied", "notApplied"])
        XCTAssertEqual(results.withLock { $0["other"] }, ["w:b1", "w:b2"], "merged into the same commit, not stopped")
        let merged = c.commits.last!
        XCTAssertEqual(merged.ids, ["a1", "bad", "a3", "a4", "b1", "b2"])
        let mark = merged.marks[0]
        XCTAssertNotNil(mark)
        XCTAssertTrue(merged.marks[0..<4].allSatisfy { $0 === mark }, "one mark for the whole submission")
        XCTAssertTrue(merged.marks[4...].allSatisfy { $0 == nil }, "none for a submission without stopAtFirstFailure")
        XCTAssertTrue(mark?.stopped ?? false)
    }

    func testStopMarkCarriesAcrossCommitsOfASplitSubmission() {
        let c = RecordingCommitter(reject: ["bad"])
        let q = makeQueue(c, maxOps: 2)
        let r = q.submit(["a", "bad", "c", "d", "e"].map { write($0) }, stopAtFirstFailure: true)
        XCTAssertEqual(ids(r), ["w:a", "invalid", "notApplied", "notApplied", "notApplied"])
        XCTAssertEqual(c.commits.map(\.ids), [["a", "bad"], ["c", "d"], ["e"]])
        let mark = c.commits[0].marks[0]
        XCTAssertTrue(c.commits.flatMap(\.marks).allSatisfy { $0 != nil && $0 === mark }, "the same mark in every commit")
        // A new submission has a fresh mark.
        XCTAssertEqual(ids(q.submit([write("f")], stopAtFirstFailure: true)), ["w:f"])
        XCTAssertFalse(c.commits.last!.marks[0] === mark)
    }

    /// 16 threads submitting 1–3 operations at a time: every operation is committed exactly
    /// once and acknowledged with its own result, commits never overlap, each thread's
    /// operations are committed in its order, no commit exceeds maxOps, and commits are shared.
    func testManyThreads() {
        let c = RecordingCommitter(work: 0.000_05)
        let q = makeQueue(c, maxOps: 32)
        let threads = 16, rounds = 150
        let wrong = Mutex<[String]>([])
        let done = (0..<threads).map { t in
            spawn {
                for k in 0..<rounds {
                    let n = 1 + (t + k) % 3
                    let ops = (0..<n).map { write("t\(t)-\(k)-\($0)") }
                    let r = n == 1 ? [q.submit(ops[0])] : q.submit(ops)
                    let want = ops.map { "w:\(RecordingCommitter.id($0))" }
                    if ids(r) != want { wrong.withLock { $0.append("\(ids(r)) != \(want)") } }
                }
            }
        }
        for d in done { d.wait() }
        XCTAssertEqual(wrong.withLock { $0 }, [])
        let committed = c.commits.flatMap(\.ids)
        let expected = (0..<threads).flatMap { t in (0..<rounds).flatMap { k in (0..<(1 + (t + k) % 3)).map { "t\(t)-\(k)-\($0)" } } }
        XCTAssertEqual(committed.count, expected.count, "each operation committed once")
        XCTAssertEqual(Set(committed), Set(expected))
        XCTAssertEqual(c.maxActive, 1, "one commit at a time")
        XCTAssertLessThanOrEqual(c.commits.map(\.ids.count).max() ?? 0, 32)
        for t in 0..<threads {
            let mine = committed.filter { $0.hasPrefix("t\(t)-") }
            XCTAssertEqual(mine, expected.filter { $0.hasPrefix("t\(t)-") }, "thread \(t)'s order")
        }
        XCTAssertLessThan(c.commits.count, expected.count, "concurrent submissions share commits")
    }

    // MARK: - Through the service: close while writers wait

    /// Writers keep submitting while the service closes: each write is either acknowledged and
    /// stored, or refused (`.closed`, or for a write queued before the close and committed
    /// after it, a commit failure saying the engine is closed) and not stored.
    func testCloseWhileWritersSubmit() throws {
        let engine = InMemoryEngine()
        var config = MemoryConfiguration()
        config.backgroundClustering = false
        let s = try MemoryService(engine: engine, configuration: config)
        let acked = Mutex<[String]>([])
        let refused = Mutex<[String]>([])
        let other = Mutex<[String]>([])
        let go = DispatchSemaphore(value: 0)
        let done = (0..<8).map { t in
            spawn {
                go.wait()
                for k in 0..<400 {
                    let id = "c\(t)-\(k)"
                    do {
                        _ = try s.write(
                            MemoryWrite(goal: "g\(t % 2)", plugin: "p", id: id, content: "x", concepts: ["k\(k % 5)", "t\(t)"]))
                        acked.withLock { $0.append(id) }
                    } catch let e as MemoryError where e.code == .closed {
                        refused.withLock { $0.append(id) }
                    } catch let e as MemoryError where e.message.contains("nothing of it was acknowledged: the memory engine is closed") {
                        // Queued before the close, committed after the engine closed.
                        refused.withLock { $0.append(id) }
                    } catch {
                        other.withLock { $0.append("\(id): \(error)") }
                    }
                }
            }
        }
        for _ in 0..<8 { go.signal() }
        Thread.sleep(forTimeInterval: 0.05)
        try s.close()
        for d in done { d.wait() }
        XCTAssertEqual(other.withLock { $0 }, [], "only refusals saying the memory is closed")
        let ok = acked.withLock { $0 }, no = refused.withLock { $0 }
        XCTAssertEqual(ok.count + no.count, 8 * 400)
        XCTAssertGreaterThan(ok.count, 0)
        XCTAssertGreaterThan(no.count, 0, "writes after close are refused")
        let stored = try engine.existingMemories(ok + no)
        XCTAssertEqual(Set(stored.keys), Set(ok), "acknowledged means stored; refused means not")
        XCTAssertThrowsError(try s.write(MemoryWrite(goal: "g", plugin: "p", content: "late", concepts: ["a"]))) {
            XCTAssertEqual(($0 as? MemoryError)?.code, .closed)
        }
    }
}

extension RecordingCommitter: BatchCommitter {
    func commit(_ ops: [QueuedOp], stops: [StopMark?]) -> [Result<OpOutcome, MemoryError>] { commit(ops, stops, solo: false) }
    func commit(_ op: QueuedOp) -> Result<OpOutcome, MemoryError> { commit([op], [nil], solo: true)[0] }
}
