import Foundation
import PlugHost
import PlugHostPostgres

/// `plughost bench memory --engine sqlite`: acknowledged (durable) writes per second through the
/// optimized path with group commit against one transaction per write, with the same concurrent
/// writers, in one run; then text recall latency over the memories written.
package enum DurableWriteBenchmark {
    /// The figures.
    package struct Result: Sendable, Codable {
        package var writers: Int
        package var writesGroupCommit: Int
        package var writesPerTransaction: Int
        /// Acknowledged writes per second with group commit (median over runs).
        package var groupCommitWritesPerSecond: Summary
        /// Acknowledged writes per second with one transaction per write.
        package var perWriteTransactionWritesPerSecond: Summary
        /// Median over rounds of group / per-write rate, pairs measured in the same round.
        package var ratio: Summary
        /// Average writes per commit with group commit.
        package var writesPerCommit: Double
        /// Text recall over `recallMemories` memories, microseconds.
        package var recallMemories: Int
        package var recallP50us: Double
        package var recallP99us: Double
        package var recallQueries: Int
    }

    /// Runs `runs` rounds; each round writes `writes` memories with group commit and
    /// `perTransactionWrites` with one transaction per write, each into a fresh SQLite file.
    package static func run(
        writes: Int = 100_000, perTransactionWrites: Int = 20_000, writers: Int = 16, runs: Int = 3,
        recallQueries: Int = 2_000, seed: UInt64 = 42, progress: (String) -> Void = { _ in }
    ) throws -> Result {
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("plughost-durable-\(UUID().uuidString)")
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: dir) }
        // Writes only: forgets would serialise writers on their own writes.
        func workload(_ n: Int) -> [WorkloadOp] {
            var g = WorkloadGenerator(operations: n, concepts: max(50, n / 10), seed: seed)
            g.forgetRate = 0
            return g.generate()
        }
        let big = workload(writes), small = workload(perTransactionWrites)
        var group: [Double] = [], single: [Double] = [], ratios: [Double] = []
        var perCommit = 0.0
        var recall: [Double] = []
        var memoriesForRecall = 0
        for r in 0..<runs {
            progress("sqlite round \(r + 1)/\(runs): group commit")
            let g = try MemoryBenchmark.runPath(
                big, optimized: true, writers: writers,
                makeEngine: {
                    try SQLiteEngine(path: dir.appendingPathComponent("g\(r).sqlite").path)
                },
                after: { service in
                    guard r == 0 else { return }
                    memoriesForRecall = writes
                    recall = try measureRecall(service, ops: big, queries: recallQueries, seed: seed)
                })
            progress("sqlite round \(r + 1)/\(runs): one transaction per write")
            let s = try MemoryBenchmark.runPath(
                small, optimized: true, writers: writers, configure: { $0.maxBatchOperations = 1 },
                makeEngine: {
                    try SQLiteEngine(path: dir.appendingPathComponent("s\(r).sqlite").path)
                })
            let gRate = Double(big.count) / g.seconds, sRate = Double(small.count) / s.seconds
            func breakdown(_ st: MemoryStats, _ seconds: Double, _ n: Int) -> String {
                String(
                    format:
                        "%.0f writes/s, %d commits (%.1f writes each); per write: engine %.1f µs, planning %.1f µs, cache %.1f µs, clustering %.1f µs (%d runs)",
                    Double(n) / seconds, st.commits, Double(st.writes) / Double(max(1, st.commits)),
                    Double(st.engineNanos) / 1000 / Double(n), Double(st.batchNanos) / 1000 / Double(n),
                    Double(st.cacheNanos) / 1000 / Double(n), Double(st.clusteringNanos) / 1000 / Double(n), st.clusteringRuns)
            }
            progress("group commit: " + breakdown(g.stats, g.seconds, big.count))
            progress("one transaction per write: " + breakdown(s.stats, s.seconds, small.count))
            group.append(gRate)
            single.append(sRate)
            ratios.append(gRate / sRate)
            perCommit = Double(g.stats.writes) / Double(max(1, g.stats.commits))
        }
        return Result(
            writers: writers, writesGroupCommit: writes, writesPerTransaction: perTransactionWrites,
            groupCommitWritesPerSecond: Summary(group), perWriteTransactionWritesPerSecond: Summary(single),
            ratio: Summary(ratios), writesPerCommit: perCommit, recallMemories: memoriesForRecall,
            recallP50us: Summary.quantile(recall, 0.5), recallP99us: Summary.quantile(recall, 0.99), recallQueries: recall.count)
    }

    private static func measureRecall(_ service: MemoryService, ops: [WorkloadOp], queries: Int, seed: UInt64) throws -> [Double] {
        var goals: [String] = []
        var words: [String] = []
        for case .write(let w) in ops.prefix(5_000) {
            goals.append(w.goal)
            words.append(contentsOf: w.concepts)
        }
        guard !words.isEmpty else { return [] }
        var rng = SplitMix64(seed: seed ^ 0xABCD)
        var out: [Double] = []
        out.reserveCapacity(queries)
        for _ in 0..<queries {
            let goal = goals[Int(rng.next() % UInt64(goals.count))]
            let text = "\(words[Int(rng.next() % UInt64(words.count))]) \(words[Int(rng.next() % UInt64(words.count))])"
            let t0 = monotonicNanos()
            _ = try service.recall(goal: goal, .text(text), limit: 20)
            out.append(Double(monotonicNanos() - t0) / 1000)
        }
        return out
    }
}
