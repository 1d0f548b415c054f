import Foundation
import XCTest

import PlugHostTestSupport
@testable import PlugHost
@testable import PlugHostCore
@testable import PlugHostMemory
@testable import PlugHostSQLite

// Issue 18: the write path's savings, measured, and the counters stored with the memory.

final class StoredCountersTests: XCTestCase {
    /// Writes that share concepts, submitted together: one group commit merges their edge
    /// operations, and one lazy clustering run covers them all.
    private func writes(_ n: Int, from start: Int = 0) -> [MemoryWrite] {
        (start..<start + n).map { i in
            MemoryWrite(goal: "g", plugin: "p", content: "w\(i)", concepts: ["a", "b", "c\(i % 4)"])
        }
    }

    private func open(_ db: String, optimized: Bool = true) throws -> MemoryService {
        var configuration = MemoryConfiguration()
        configuration.optimized = optimized
        return try MemoryService(engine: try SQLiteEngine(path: db), configuration: configuration)
    }

    func testLazyPathCountsWhatItSavedFromMeasuredDurations() throws {
        let dir = try TestSupport.makeTempDirectory(for: self)
        let memory = try open(dir.appendingPathComponent("m.sqlite").path)
        defer { try? memory.close() }
        XCTAssertTrue(memory.write(writes(40)).allSatisfy { if case .success = $0 { true } else { false } })
        try memory.flush()
        let s = memory.stats
        XCTAssertEqual(s.writes, 40)
        XCTAssertGreaterThan(s.clusteringRuns, 0)
        // The runs and the runs they replaced beyond themselves cover the eager path's one run
        // per write; a run may cover no write (seen after the logging merge: 2 runs, 39 skipped
        // for 40 writes; cause not yet found, noted in issue 18's closing note), never fewer.
        XCTAssertGreaterThanOrEqual(
            s.clusteringRuns + s.clusteringRunsSkipped, s.writes, "runs \(s.clusteringRuns), skipped \(s.clusteringRunsSkipped)")
        XCTAssertLessThan(s.clusteringRunsSkipped, s.writes)
        XCTAssertGreaterThan(s.clusteringRunsSkipped, 0)
        XCTAssertGreaterThan(s.clusteringSavedNanos, 0, "skipped runs are valued at measured run durations")
        XCTAssertGreaterThan(s.edgeOpsSaved, 0)
        XCTAssertGreaterThan(s.edgeWriteSavedNanos, 0, "saved edge rows are valued at the commit's measured time per row")
        // A skipped run is valued at what the run that covered it took: never more than the
        // writes beyond the first times the longest run, which is at most all clustering time.
        XCTAssertLessThanOrEqual(s.clusteringSavedNanos, UInt64(s.clusteringRunsSkipped) * s.clusteringNanos)
        // One commit (one submission under maxBatchOperations): its saved edge rows are valued at
        // its measured engine time per row written: 40 memories, 6 concept counts (a, b, c0…c3)
        // and 9 edge counts (a–b, a–cN, b–cN), against 3 pairs per write unbatched.
        XCTAssertEqual(s.commits, 1)
        XCTAssertEqual(s.edgeOps, 9)
        XCTAssertEqual(s.edgeOpsSaved, 40 * 3 - 9)
        let expected = (Double(s.engineNanos) / Double(40 + 6 + 9) * Double(s.edgeOpsSaved)).rounded()
        XCTAssertEqual(Double(s.edgeWriteSavedNanos), expected, accuracy: 1)
    }

    func testEagerPathSavesNothing() throws {
        let dir = try TestSupport.makeTempDirectory(for: self)
        let memory = try open(dir.appendingPathComponent("m.sqlite").path, optimized: false)
        defer { try? memory.close() }
        _ = memory.write(writes(10))
        try memory.flush()
        let s = memory.stats
        XCTAssertEqual(s.clusteringRuns, 10, "one run per write")
        XCTAssertEqual(s.clusteringRunsSkipped, 0)
        XCTAssertEqual(s.clusteringSavedNanos, 0)
        XCTAssertEqual(s.edgeWriteSavedNanos, 0)
    }

    func testCountersAreStoredOnCloseAndAddUpAcrossRestarts() throws {
        let dir = try TestSupport.makeTempDirectory(for: self)
        let db = dir.appendingPathComponent("m.sqlite").path
        var first = try open(db)
        _ = first.write(writes(12))
        XCTAssertEqual(try first.storedCounters(), [:], "nothing stored before a flush")
        try first.flush()
        XCTAssertEqual(try first.storedCounters()["writes"], 12)
        let firstStats = first.stats
        _ = first.write(writes(3, from: 100))
        try first.close()

        first = try open(db)
        let afterOne = try first.storedCounters()
        XCTAssertEqual(afterOne["writes"], 15, "the flush's 12, then the 3 more at close: added once each")
        XCTAssertGreaterThanOrEqual(afterOne["commits"].map(Int.init) ?? 0, firstStats.commits + 1)
        _ = first.write(writes(5, from: 200))
        // A second process-like service on the same file adds its own.
        let second = try open(db)
        _ = second.write(writes(4, from: 300))
        try second.close()
        try first.close()

        let reader = try open(db)
        defer { try? reader.close() }
        let c = try reader.storedCounters()
        XCTAssertEqual(c["writes"], 24)
        XCTAssertEqual(Set(c.keys).subtracting(StoredCounters.names), [], "only names this build documents")
        XCTAssertGreaterThan(c["clustering_runs"] ?? 0, 0)
        XCTAssertGreaterThan(c["clustering_nanos"] ?? 0, 0)
    }

    func testDeltasLeaveOutWhatDidNotGrow() {
        var a = MemoryStats()
        a.writes = 3
        a.commits = 1
        var b = a
        b.writes = 5
        b.clusteringSavedNanos = 7
        XCTAssertEqual(StoredCounters.deltas(from: a, to: b), ["writes": 2, "time_saved_clustering_nanos": 7])
        XCTAssertEqual(StoredCounters.deltas(from: b, to: b), [:])
        XCTAssertEqual(StoredCounters.names, StoredCounters.names.sorted())
    }
}
