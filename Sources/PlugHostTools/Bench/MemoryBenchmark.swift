import Foundation
import PlugHost
import PlugHostPostgres

/// `plughost bench memory`: eager versus optimized on the same seeded workload.
package enum MemoryBenchmark {
    /// Figures of one path at one size.
    package struct PathResult: Sendable, Codable {
        /// Acknowledged operations per second (median over runs).
        package var opsPerSecond: Summary
        /// Microseconds per operation (median over runs).
        package var usPerOp: Summary
        /// Per-write acknowledgement latency, µs, of the median run.
        package var p50us: Double
        package var p99us: Double
        package var edgeOps: Int
        package var clusteringRuns: Int
        package var cacheHitRatio: Double
        package var digest: String
        /// True when every run's clusters equal a full re-clustering of the stored graph.
        package var verified: Bool
    }

    /// Figures at one workload size.
    package struct SizeResult: Sendable, Codable {
        /// The workload's shape (``WorkloadShape``).
        package var shape: String = WorkloadShape.standard.rawValue
        package var operations: Int
        package var optimized: PathResult
        package var eager: PathResult?
        /// Median over runs of eager time / optimized time, each pair measured together.
        package var speedup: Summary?
        package var digestsEqual: Bool?
    }

    /// Runs one path over `ops` on a fresh engine from `makeEngine`; each write is submitted
    /// alone and waits for its acknowledgement, as a plugin's memory_write does, unless
    /// `writers` > 1, where that many threads share the work (and group commits).
    package static func runPath(
        _ ops: [WorkloadOp], optimized: Bool, writers: Int = 1, chunk: Int = 1,
        configure: (inout MemoryConfiguration) -> Void = { _ in }, makeEngine: () throws -> any MemoryEngine,
        after: (MemoryService) throws -> Void = { _ in }
    ) throws -> (seconds: Double, latencies: [Double], stats: MemoryStats, digest: String, verified: Bool) {
        var config = optimized ? MemoryConfiguration() : MemoryConfiguration.baseline
        config.backgroundClustering = true
        configure(&config)
        let service = try MemoryService(engine: try makeEngine(), configuration: config)
        defer { try? service.close() }
        var latencies = [Double](repeating: 0, count: ops.count)
        let start = monotonicNanos()
        if chunk > 1 {
            // Consecutive writes go in one submission (they share one commit); latency is the
            // submission's, counted for each of its writes.
            var i = 0
            while i < ops.count {
                let t0 = monotonicNanos()
                var batch: [MemoryWrite] = []
                var j = i
                while j < ops.count, batch.count < chunk, case .write(let w) = ops[j] {
                    batch.append(w)
                    j += 1
                }
                if batch.isEmpty, case .forget(let id) = ops[i] {
                    _ = try service.forget(id: id)
                    j = i + 1
                } else {
                    for r in service.write(batch) { _ = try r.get() }
                }
                let us = Double(monotonicNanos() - t0) / 1000
                for k in i..<j { latencies[k] = us }
                i = j
            }
        } else if writers <= 1 {
            for (i, op) in ops.enumerated() {
                let t0 = monotonicNanos()
                switch op {
                case .write(let w): _ = try service.write(w)
                case .forget(let id): _ = try service.forget(id: id)
                }
                latencies[i] = Double(monotonicNanos() - t0) / 1000
            }
        } else {
            // Writers take ops in order from a shared cursor; a forget waits for its write.
            let errors = LockedBox<[Error]>([])
            let cursor = LockedBox(0)
            let lat = LockedBox(latencies)
            // Real threads: concurrentPerform would run only as many as there are cores, and
            // group commit needs writers waiting while a commit is under way.
            let group = DispatchGroup()
            for _ in 0..<writers {
                group.enter()
                Thread.detachNewThread {
                    defer { group.leave() }
                    var local: [(Int, Double)] = []
                    while true {
                        let i = cursor.update { v -> Int in
                            defer { v += 1 }; return v
                        }
                        guard i < ops.count else { break }
                        let t0 = monotonicNanos()
                        do {
                            switch ops[i] {
                            case .write(let w): _ = try service.write(w)
                            case .forget(let id): _ = try service.forget(id: id)
                            }
                        } catch { errors.update { $0.append(error) } }
                        local.append((i, Double(monotonicNanos() - t0) / 1000))
                    }
                    lat.update { l in for (i, v) in local { l[i] = v } }
                }
            }
            group.wait()
            if let e = errors.value.first { throw e }
            latencies = lat.value
        }
        try service.flush()
        let seconds = Double(monotonicNanos() - start) / 1e9
        let digest = CanonicalClusters.digest(try service.clusters())
        let verified = try service.verifyClusters().isEmpty
        try after(service)
        return (seconds, latencies, service.stats, digest, verified)
    }

    /// Runs both paths at each size (eager only up to `eagerMax` operations), `runs` times each
    /// after a warm-up, pairs taken in the same round, over workloads of `shape` (a shape with
    /// a fixed size runs once at that size, optimized only).
    package static func run(
        sizes: [Int], runs: Int = 3, eagerMax: Int = 10_000, seed: UInt64 = 42, chunk: Int = 1, shape: WorkloadShape = .standard,
        progress: (String) -> Void = { _ in }
    ) throws -> [SizeResult] {
        var out: [SizeResult] = []
        let sizes = shape.fixedOperations.map { [$0] } ?? sizes
        let runs = shape.fixedOperations == nil ? runs : 1
        for size in sizes {
            let ops = WorkloadGenerator(shape: shape, operations: size, seed: seed).generate()
            let withEager = size <= eagerMax && shape.fixedOperations == nil
            _ = try runPath(Array(ops.prefix(min(size, 2000))), optimized: true) { InMemoryEngine() }
            var opt: [(seconds: Double, latencies: [Double], stats: MemoryStats, digest: String, verified: Bool)] = []
            var eag: [(seconds: Double, latencies: [Double], stats: MemoryStats, digest: String, verified: Bool)] = []
            var ratios: [Double] = []
            for r in 0..<runs {
                progress("memory \(shape.rawValue) \(size): run \(r + 1)/\(runs)")
                let o = try runPath(ops, optimized: true, chunk: chunk) { InMemoryEngine() }
                opt.append(o)
                if withEager {
                    let e = try runPath(ops, optimized: false) { InMemoryEngine() }
                    eag.append(e)
                    ratios.append(e.seconds / o.seconds)
                }
            }
            func summarize(_ rs: [(seconds: Double, latencies: [Double], stats: MemoryStats, digest: String, verified: Bool)]) -> PathResult
            {
                let sorted = rs.sorted { $0.0 < $1.0 }
                let median = sorted[sorted.count / 2]
                return PathResult(
                    opsPerSecond: Summary(rs.map { Double(size) / $0.0 }), usPerOp: Summary(rs.map { $0.0 * 1e6 / Double(size) }),
                    p50us: Summary.quantile(median.1, 0.5), p99us: Summary.quantile(median.1, 0.99),
                    edgeOps: median.2.edgeOps, clusteringRuns: median.2.clusteringRuns,
                    cacheHitRatio: median.2.cacheHitRatio, digest: median.3, verified: rs.allSatisfy { $0.4 })
            }
            let o = summarize(opt)
            let e = withEager ? summarize(eag) : nil
            out.append(
                SizeResult(
                    shape: shape.rawValue, operations: size, optimized: o, eager: e, speedup: withEager ? Summary(ratios) : nil,
                    digestsEqual: e.map { $0.digest == o.digest }))
        }
        return out
    }
}

/// A value behind a lock, for benchmark bookkeeping across threads.
final class LockedBox<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    init(_ value: T) { stored = value }
    var value: T { lock.withLock { stored } }
    @discardableResult
    func update<R>(_ body: (inout T) -> R) -> R { lock.withLock { body(&stored) } }
}
