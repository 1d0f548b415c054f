import Foundation
import XCTest

import PlugHostTestSupport
@testable import PlugHost
@testable import PlugHostCore
@testable import PlugHostMemory
@testable import PlugHostTools

// Issue 16, item 3: recall by cluster.

/// Recall by cluster (`RecallQuery.related`) in every engine and on both paths, against a
/// brute-force computation from the stored memories and the clusters after a flush: the goal's
/// memories holding any concept of the concept's cluster, newest first, the limit applied after
/// the merge. The recalls run while the goal's clustering is pending, so they are exact only if
/// related recall brings the clusters up to date first.
final class RelatedRecallTests: XCTestCase {
    /// Concepts of the workloads: a few that normalisation merges, a long tail.
    private static let vocabulary = [
        "alpha", "Beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "Café", "cafe\u{301}", "ΟΔΟΣ", "lambda mu",
    ]
    private static let limits = [1, 2, 3, 7, 1000]

    /// What related recall must return, computed from every stored memory (in creation order)
    /// and the goal's clusters after a flush, for live memories at `now`.
    static func bruteForce(memories: [Memory], clusters: [GoalClusters], goal: String, concept: String, limit: Int, now: Double) -> [String]
    {
        let key = ConceptKey.normalize(concept)
        guard let goalClusters = clusters.first(where: { $0.goal == goal }),
            let members = goalClusters.clusters.first(where: { $0.concepts.contains(key) })?.concepts
        else { return [] }
        let cluster = Set(members)
        let holders = memories.filter { m in
            m.goal == goal && (m.expiresAt ?? .infinity) > now && m.concepts.contains(where: cluster.contains)
        }
        return Array(holders.reversed().prefix(limit).map(\.id))
    }

    /// A random workload of writes (1–4 concepts, sometimes a dependency) and forgets over
    /// three goals.
    private static func workload(seed: UInt64, count: Int) -> [WorkloadOp] {
        var rng = SplitMix64(seed: seed)
        var live: [String] = []
        var ops: [WorkloadOp] = []
        for i in 0..<count {
            if !live.isEmpty, rng.next() % 7 == 0 {
                let k = Int(rng.next() % UInt64(live.count))
                ops.append(.forget(live.remove(at: k)))
                continue
            }
            let n = 1 + Int(rng.next() % 4)
            let concepts = (0..<n).map { _ in vocabulary[Int(rng.next() % UInt64(vocabulary.count))] }
            let deps =
                rng.next() % 5 == 0
                ? [
                    Dependency(
                        vocabulary[Int(rng.next() % UInt64(vocabulary.count))], vocabulary[Int(rng.next() % UInt64(vocabulary.count))])
                ]
                : []
            let id = "m\(i)"
            live.append(id)
            ops.append(
                .write(
                    MemoryWrite(
                        goal: "g\(rng.next() % 3)", plugin: "p", id: id, content: "memory \(i)", concepts: concepts, dependsOn: deps)))
        }
        return ops
    }

    private func apply(_ op: WorkloadOp, to s: MemoryService) throws {
        switch op {
        case .write(let w): _ = try s.write(w)
        case .forget(let id): _ = try s.forget(id: id)
        }
    }

    /// Related recalls of every concept (and one nobody holds) in every goal, with several limits.
    private func recallAll(_ s: MemoryService) throws -> [String: [String]] {
        var out: [String: [String]] = [:]
        for goal in ["g0", "g1", "g2"] {
            for concept in Self.vocabulary + ["nobody holds this"] {
                for limit in Self.limits {
                    out["\(goal)|\(concept)|\(limit)"] = try s.recall(goal: goal, .related(concept), limit: limit).map(\.memory.id)
                }
            }
        }
        return out
    }

    private func check(
        _ got: [String: [String]], writer: MemoryService, engine: any MemoryEngine, _ label: String, file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        try writer.flush()
        XCTAssertEqual(try writer.verifyClusters(), [], "\(label): stored clusters are those of a full run", file: file, line: line)
        let clusters = try writer.clusters()
        let memories = try allStoredMemories(engine)
        var differing = 0
        var nonEmpty = 0
        var widened = 0
        for goal in ["g0", "g1", "g2"] {
            for concept in Self.vocabulary + ["nobody holds this"] {
                for limit in Self.limits {
                    let want = Self.bruteForce(
                        memories: memories, clusters: clusters, goal: goal, concept: concept, limit: limit,
                        now: writer.configuration.clock.now())
                    let have = got["\(goal)|\(concept)|\(limit)"]
                    if have != want {
                        differing += 1
                        if differing <= 3 {
                            XCTFail("\(label): \(goal) \(concept) limit \(limit): \(have ?? []) != \(want)", file: file, line: line)
                        }
                    }
                    if !want.isEmpty { nonEmpty += 1 }
                    if limit == 1000, want.count > (try writer.recall(goal: goal, .concept(concept), limit: 1000)).count { widened += 1 }
                }
            }
        }
        XCTAssertEqual(differing, 0, "\(label): recalls that differ from the brute force", file: file, line: line)
        // The workload must make the test mean something: results, and clusters wider than one concept.
        XCTAssertGreaterThan(nonEmpty, 50, label, file: file, line: line)
        XCTAssertGreaterThan(widened, 5, "\(label): related recalls that found more than recall by concept", file: file, line: line)
    }

    /// Optimized path with clustering left pending (no threshold reached, no timeout), and the
    /// eager path: related recall at several points of the workload equals the brute force.
    func testRelatedRecallIsExactWhileClusteringIsPendingInEveryEngine() throws {
        try forEachKind(self) { kind in
            for optimized in [true, false] {
                for seed: UInt64 in [1, 2] {
                    let store = try TestStore.fresh(kind, for: self)
                    let s = try store.service(optimized: optimized) {
                        $0.clusteringThreshold = 1_000_000
                        $0.clusteringTimeout = 1e9
                    }
                    let ops = Self.workload(seed: seed &* 7919 &+ UInt64(optimized ? 1 : 0), count: 240)
                    for (i, op) in ops.enumerated() {
                        try apply(op, to: s)
                        if (i + 1) % 80 == 0 {
                            if optimized { XCTAssertGreaterThan(s.goalsWithPendingClustering, 0, "\(kind): clustering is pending") }
                            let got = try recallAll(s)
                            try check(got, writer: s, engine: s.engine, "\(kind) optimized=\(optimized) seed \(seed) at op \(i + 1)")
                        }
                    }
                    try store.finish(s)
                }
            }
        }
    }

    /// A read-only service (the CLI's `memory recall --related`) over a goal another service
    /// left pending computes the clusters from the stored graph: exact too, and it stores nothing.
    func testReadOnlyRelatedRecallComputesPendingClusters() throws {
        try forEachKind(self) { kind in
            let store = try TestStore.fresh(kind, for: self)
            let writer = try store.service(optimized: true) {
                $0.clusteringThreshold = 1_000_000
                $0.clusteringTimeout = 1e9
            }
            for op in Self.workload(seed: 99, count: 200) { try apply(op, to: writer) }
            let engine = kind == .memory ? try store.open() : try EngineFactory.open(kind, location: store.location, readOnly: true)
            var c = MemoryConfiguration()
            c.readOnly = true
            c.backgroundClustering = false
            let reader = try MemoryService(engine: engine, configuration: c)
            let pendingBefore = try engine.goalsPendingClustering()
            XCTAssertFalse(pendingBefore.isEmpty, "\(kind): the writer left clustering pending")
            let got = try recallAll(reader)
            XCTAssertEqual(try engine.goalsPendingClustering(), pendingBefore, "\(kind): the reader stored nothing")
            if kind != .memory { try reader.close() }
            try check(got, writer: writer, engine: writer.engine, "\(kind) read-only")
            try store.finish(writer)
        }
    }

    /// A small case worked by hand: the limit applies after the merge (newest first over the
    /// whole cluster), concepts are normalised, other clusters and other goals stay out.
    func testTheLimitAppliesAfterTheMergeAndOtherClustersStayOut() throws {
        let s = try MemoryService(engine: InMemoryEngine())
        // a–b: co 2 (an edge); b→c: a dependency; x–y: co 2, another cluster.
        _ = try s.write(MemoryWrite(goal: "g", plugin: "p", id: "1", content: "", concepts: ["a", "b"]))
        _ = try s.write(MemoryWrite(goal: "g", plugin: "p", id: "2", content: "", concepts: ["x", "y"]))
        _ = try s.write(MemoryWrite(goal: "g", plugin: "p", id: "3", content: "", concepts: ["A", "B"]))
        _ = try s.write(MemoryWrite(goal: "g", plugin: "p", id: "4", content: "", concepts: ["c"], dependsOn: [Dependency("b", "c")]))
        _ = try s.write(MemoryWrite(goal: "g", plugin: "p", id: "5", content: "", concepts: ["x", "y"]))
        _ = try s.write(MemoryWrite(goal: "g", plugin: "p", id: "6", content: "", concepts: ["c"]))
        _ = try s.write(MemoryWrite(goal: "other", plugin: "p", id: "7", content: "", concepts: ["a", "b", "c"]))
        XCTAssertEqual(try s.recall(goal: "g", .related("  A "), limit: 20).map(\.memory.id), ["6", "4", "3", "1"])
        XCTAssertEqual(try s.recall(goal: "g", .related("c"), limit: 2).map(\.memory.id), ["6", "4"])
        XCTAssertEqual(try s.recall(goal: "g", .related("a"), limit: 3).map(\.memory.id), ["6", "4", "3"])
        XCTAssertEqual(try s.recall(goal: "g", .concept("a"), limit: 20).map(\.memory.id), ["3", "1"])
        XCTAssertEqual(try s.recall(goal: "g", .related("y"), limit: 20).map(\.memory.id), ["5", "2"])
        XCTAssertEqual(try s.recall(goal: "g", .related("nobody"), limit: 20).map(\.memory.id), [])
        XCTAssertEqual(try s.clusterMembers(of: "b", goal: "g"), ["a", "b", "c"])
        let empty = try TestSupport.expectError(MemoryError.self) { try s.recall(goal: "g", .related(" \t "), limit: 5) }
        XCTAssertEqual(empty?.code, .invalid)
        // Forgetting the dependency splits the cluster: the next recall sees it at once.
        XCTAssertTrue(try s.forget(id: "4"))
        XCTAssertEqual(try s.recall(goal: "g", .related("a"), limit: 20).map(\.memory.id), ["3", "1"])
        XCTAssertEqual(try s.recall(goal: "g", .related("c"), limit: 20).map(\.memory.id), ["6"])
    }

    /// An expired memory is never returned; a writing service sweeps it first, so its concepts
    /// no longer join clusters either.
    func testExpiredMemoriesAreSweptBeforeTheClusterIsRead() throws {
        let clock = ManualClock(start: 1_000_000)
        var c = MemoryConfiguration()
        c.clock = clock
        c.backgroundClustering = false
        let s = try MemoryService(engine: InMemoryEngine(), configuration: c)
        _ = try s.write(MemoryWrite(goal: "g", plugin: "p", id: "1", content: "", concepts: ["a"]))
        _ = try s.write(MemoryWrite(goal: "g", plugin: "p", id: "2", content: "", concepts: ["b"]))
        _ = try s.write(
            MemoryWrite(
                goal: "g", plugin: "p", id: "t", content: "", concepts: ["b"], dependsOn: [Dependency("a", "b")], ttlMilliseconds: 100))
        XCTAssertEqual(try s.recall(goal: "g", .related("a"), limit: 20).map(\.memory.id), ["t", "2", "1"])
        clock.advance(0.2)
        XCTAssertEqual(try s.recall(goal: "g", .related("a"), limit: 20).map(\.memory.id), ["1"])
        XCTAssertEqual(try s.clusterMembers(of: "a", goal: "g"), ["a"])
    }
}
