import ArgumentParser
import Foundation
import PlugHost
import PlugHostPipeline
import PlugHostPostgres
import PlugHostTools

/// `plughost bench …`: benchmarks, not tests; figures are medians of several runs.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Measure the call path and the memory write path.",
        subcommands: [
            BenchCallsCommand.self, BenchMemoryCommand.self, BenchSeedCommand.self, BenchStartupCommand.self, BenchAllCommand.self,
            BenchFleetWorkerCommand.self, BenchMCPCommand.self, BenchMCPSDKServerCommand.self, BenchClustersCommand.self,
            BenchPipelineCommand.self,
        ])
}

/// `plughost bench calls`.
struct BenchCallsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calls",
        abstract:
            "Per-call cost: direct C, raw ffi_call, prepared and dynamic invoke; isolated calls beside a raw pipe ping-pong; worker start.")

    @Flag(help: "Print one JSON object.") var json = false
    @Option(help: "Calls per round.") var calls: Int = 200_000
    @Option(help: "Rounds (the median is reported).") var rounds: Int = 9
    @Option(help: "Calls per round of the isolated paths.") var isolatedCalls: Int = 20_000
    @Flag(inversion: .prefixedNo, help: "Measure the isolated (process) paths too.") var isolated = true
    @OptionGroup var plugins: PluginOptions

    @OptionGroup var log: LogOptions

    func run() throws {
        let host = PluginHost(
            memory: try MemoryService(engine: InMemoryEngine()), searchPath: plugins.searchPath, isolation: .inProcess)
        let sig = try host.load("sig")
        guard let add3 = sig.function(named: "add3") else { throw ValidationError("the sig plugin has no add3") }
        let r = try CallBenchmark.run(function: add3, callsPerRound: calls, rounds: rounds)
        let iso = isolated ? try IsolationBenchmark.run(searchPath: plugins.searchPath, callsPerRound: isolatedCalls, rounds: rounds) : nil
        if json {
            var isoJSON: Any = NSNull()
            if let i = iso {
                isoJSON =
                    [
                        "pipe_pingpong_ns": i.pipePingPong.median, "pipe_pingpong_spinning_ns": i.pipePingPongSpinning.median,
                        "isolated_scalar_ns": i.isolatedScalar.median,
                        "ratio_isolated_to_pipe": i.ratioIsolatedToPipe.median, "in_process_write_ns": i.inProcessWrite.median,
                        "isolated_write_ns": i.isolatedWrite.median, "isolated_write_extra_ns": i.isolatedWriteExtra.median,
                        "worker_start_ms": i.workerStartMs.median, "calls_per_round": i.callsPerRound,
                    ] as [String: Any]
            }
            print(
                JSONText.encode([
                    "direct_ns": r.direct.median, "ffi_raw_ns": r.ffiRaw.median,
                    "invoke_prepared_ns": r.invokePrepared.median, "invoke_dynamic_ns": r.invokeDynamic.median,
                    "ratio_prepared_to_raw": r.ratioPreparedToRaw.median,
                    "min": [
                        "direct_ns": r.direct.min, "ffi_raw_ns": r.ffiRaw.min, "invoke_prepared_ns": r.invokePrepared.min,
                        "invoke_dynamic_ns": r.invokeDynamic.min,
                    ],
                    "max": [
                        "direct_ns": r.direct.max, "ffi_raw_ns": r.ffiRaw.max, "invoke_prepared_ns": r.invokePrepared.max,
                        "invoke_dynamic_ns": r.invokeDynamic.max,
                    ],
                    "calls_per_round": r.callsPerRound, "rounds": r.rounds, "function": "sig.add3(int64, int64, int64)",
                    "isolated": isoJSON,
                ]))
        } else {
            func row(_ name: String, _ s: Summary) -> String {
                name.padding(toLength: 34, withPad: " ", startingAt: 0)
                    + String(format: "%8.1f ns   (min %.1f, max %.1f)", s.median, s.min, s.max)
            }
            print("sig.add3(int64, int64, int64), \(r.rounds) rounds × \(r.callsPerRound) calls, medians:")
            print(row("direct C call (function pointer)", r.direct))
            print(row("raw ffi_call (prepared cif)", r.ffiRaw))
            print(row("plughost prepared invoke", r.invokePrepared))
            print(row("plughost invoke, dynamic values", r.invokeDynamic))
            print(
                String(
                    format: "ratio prepared invoke / raw ffi_call: %.3f (min %.3f, max %.3f; target ≤ 1.25)",
                    r.ratioPreparedToRaw.median, r.ratioPreparedToRaw.min, r.ratioPreparedToRaw.max))
            if let i = iso {
                func us(_ name: String, _ s: Summary) -> String {
                    name.padding(toLength: 44, withPad: " ", startingAt: 0)
                        + String(format: "%8.2f µs   (min %.2f, max %.2f)", s.median / 1000, s.min / 1000, s.max / 1000)
                }
                print("\nprocess isolation, \(i.rounds) rounds × \(i.callsPerRound) calls, medians:")
                print(us("raw pipe ping-pong (two processes)", i.pipePingPong))
                print(us("raw pipe ping-pong, both sides spinning", i.pipePingPongSpinning))
                print(us("isolated sig.add3 (3 scalars)", i.isolatedScalar))
                print(
                    String(
                        format: "ratio isolated scalar / pipe ping-pong: %.2f (min %.2f, max %.2f; targets ≤ 10 µs and ≤ 2×)",
                        i.ratioIsolatedToPipe.median, i.ratioIsolatedToPipe.min, i.ratioIsolatedToPipe.max))
                print(us("in-process sig.remember (one memory_write)", i.inProcessWrite))
                print(us("isolated sig.remember (one memory_write)", i.isolatedWrite))
                print(us("isolated minus in-process (target ≤ 15 µs)", i.isolatedWriteExtra))
                print(
                    "worker start (spawn + load sig):".padding(toLength: 44, withPad: " ", startingAt: 0)
                        + String(
                            format: "%8.2f ms   (min %.2f, max %.2f; target ≤ 20 ms)", i.workerStartMs.median, i.workerStartMs.min,
                            i.workerStartMs.max))
            }
        }
        try host.close()
    }
}

extension BenchMemoryCommand {
    static func describe(_ r: DurableWriteBenchmark.Result) -> String {
        """
        engine: sqlite (WAL), \(r.writers) concurrent writers, every write acknowledged after its commit; medians of \(r.groupCommitWritesPerSecond.min == r.groupCommitWritesPerSecond.max ? "1 run" : "runs")
          group commit          \(String(format: "%9.0f writes/s (min %.0f, max %.0f), %.1f writes per commit, %d writes", r.groupCommitWritesPerSecond.median, r.groupCommitWritesPerSecond.min, r.groupCommitWritesPerSecond.max, r.writesPerCommit, r.writesGroupCommit))
          one transaction each  \(String(format: "%9.0f writes/s (min %.0f, max %.0f), %d writes", r.perWriteTransactionWritesPerSecond.median, r.perWriteTransactionWritesPerSecond.min, r.perWriteTransactionWritesPerSecond.max, r.writesPerTransaction))
          ratio                 \(String(format: "%.1f× (min %.1f, max %.1f); targets: ≥ 100k writes/s and ≥ 20×", r.ratio.median, r.ratio.min, r.ratio.max))
          text recall over \(r.recallMemories) memories: p50 \(String(format: "%.0f", r.recallP50us)) µs, p99 \(String(format: "%.0f", r.recallP99us)) µs (\(r.recallQueries) queries; target p99 < 5 ms)
        """
    }
}

/// `plughost bench memory`.
struct BenchMemoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memory", abstract: "Eager versus optimized write path on a seeded workload.")

    @Option(help: "Workload sizes, comma-separated.") var sizes: String = "1000,10000,100000"
    @Option(help: "Runs per size (medians reported).") var runs: Int = 3
    @Option(name: .customLong("eager-max"), help: "Largest size the eager baseline runs at.") var eagerMax: Int = 10_000
    @Option(help: "Workload seed.") var seed: UInt64 = 42
    @Option(
        help: ArgumentHelp(
            "Workload shapes (memory engine), comma-separated, or all: \(WorkloadShape.allCases.map(\.rawValue).joined(separator: ", ")).",
            discussion: "million runs 1,000,000 operations over 100,000 concepts once, optimized only, whatever --sizes says."))
    var shapes: String = "all"
    @Option(help: "Writes per submission on the optimized path (1: each write acknowledged alone, as a plugin's memory_write).") var chunk:
        Int = 1
    @Option(
        help:
            "The engine benchmarked, in scratch storage of the benchmark's own (never your memory): memory (eager against optimized), sqlite (group commit against one transaction per write, and text recall) or postgres (1, 2 and 4 host processes, optimized against eager)."
    ) var engine: EngineChoice = .memory
    @Option(help: "Concurrent writers (sqlite: in the process; postgres: per host process).") var writers: Int = 16
    @Option(
        help:
            "The PostgreSQL server for --engine postgres (default: $PLUGHOST_DB): the benchmark creates and drops a scratch database there."
    )
    var db: String?
    @Option(name: .customLong("fleet-writes"), help: "Writes per host (postgres, optimized).") var fleetWrites: Int = 20_000
    @Flag(help: "Print JSON.") var json = false

    @OptionGroup var log: LogOptions

    func run() throws {
        // A benchmark per engine: the fleet for PostgreSQL, durable writers for SQLite, the write
        // path itself in memory.
        switch engine {
        case .postgres: return try runFleet()
        case .sqlite:
            let r = try DurableWriteBenchmark.run(writers: writers, runs: runs, seed: seed) { msg in
                if !json { FileHandle.standardError.write(Data("… \(msg)\n".utf8)) }
            }
            if json {
                print(String(decoding: try JSONEncoder().encode(r), as: UTF8.self))
            } else {
                print(BenchMemoryCommand.describe(r))
            }
            return
        case .memory: break
        }
        let list = try sizes.split(separator: ",").map { s -> Int in
            guard let n = Int(s.trimmingCharacters(in: .whitespaces)), n > 0 else {
                throw ValidationError("--sizes: \(s) is not a positive number")
            }
            return n
        }
        let shapeList: [WorkloadShape] =
            shapes.trimmingCharacters(in: .whitespaces) == "all"
            ? WorkloadShape.allCases
            : try shapes.split(separator: ",").map { s -> WorkloadShape in
                let name = s.trimmingCharacters(in: .whitespaces)
                guard let shape = WorkloadShape(rawValue: name) else {
                    throw ValidationError(
                        "--shapes: \(name.debugDescription) is not a shape (use all or \(WorkloadShape.allCases.map(\.rawValue).joined(separator: ", ")))"
                    )
                }
                return shape
            }
        var results: [MemoryBenchmark.SizeResult] = []
        for shape in shapeList {
            results += try MemoryBenchmark.run(
                sizes: list, runs: runs, eagerMax: eagerMax, seed: seed, chunk: chunk, shape: shape,
                progress: { msg in
                    if !json { FileHandle.standardError.write(Data("… \(msg)\n".utf8)) }
                })
        }
        if json {
            let data = try JSONEncoder().encode(results)
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print(
            "engine: memory; \(chunk == 1 ? "each write acknowledged alone" : "optimized writes submitted \(chunk) at a time"); medians of \(runs) runs"
        )
        print(
            "shape       |     ops | path      |   writes/s |  µs/op |  p50 µs |  p99 µs | edge ops | clusterings | hit ratio | digest           | exact"
        )
        for r in results {
            func line(_ name: String, _ p: MemoryBenchmark.PathResult) {
                print(
                    String(
                        format: "%@ | %7d | %@ | %10.0f | %6.2f | %7.2f | %7.2f | %8d | %11d | %8.1f%% | %@ | %@",
                        r.shape.padding(toLength: 11, withPad: " ", startingAt: 0) as NSString, r.operations,
                        name.padding(toLength: 9, withPad: " ", startingAt: 0) as NSString,
                        p.opsPerSecond.median, p.usPerOp.median, p.p50us, p.p99us, p.edgeOps, p.clusteringRuns,
                        p.cacheHitRatio * 100, String(p.digest.prefix(16)) as NSString, (p.verified ? "yes" : "NO") as NSString))
            }
            line("optimized", r.optimized)
            if let e = r.eager { line("eager", e) }
            if let s = r.speedup {
                print(
                    String(
                        format: "            speed-up optimized vs eager: %.1f× (min %.1f, max %.1f; target ≥ 100× at 10k); digests %@",
                        s.median, s.min, s.max,
                        (r.digestsEqual ?? false) ? "equal" : "DIFFER"))
            }
        }
        for shape in shapeList {
            let rows = results.filter { $0.shape == shape.rawValue }
            if let a = rows.first(where: { $0.operations == 10_000 }), let b = rows.first(where: { $0.operations == 100_000 }) {
                print(
                    String(
                        format: "%@ per-write cost 100k / 10k: %.2f (target ≤ 1.5)", shape.rawValue as NSString,
                        b.optimized.usPerOp.median / a.optimized.usPerOp.median))
            }
            if shape == .million, let r = rows.first {
                print(
                    String(
                        format: "million: %d operations over 100000 concepts, 5%% forgets: %.2f s (target < 10 s)", r.operations,
                        Double(r.operations) * r.optimized.usPerOp.median / 1e6))
            }
        }
    }
}
