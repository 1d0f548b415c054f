import ArgumentParser
import Foundation
import PlugHost
import PlugHostPipeline
import PlugHostTools

/// `plughost bench seed`.
struct BenchSeedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed", abstract: "The original report's scenario: baseline against optimized per plugin operation.")

    @Option(help: "Operations per run.") var ops: Int = 20
    @Option(help: "The engine benchmarked, in scratch storage of the benchmark's own: memory or sqlite.") var engine: EngineChoice = .memory
    @Option(help: "Runs (medians reported).") var runs: Int = 5
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var plugins: PluginOptions

    @OptionGroup var log: LogOptions

    func run() throws {
        let kind = engine.kind
        guard engine != .postgres else { throw ValidationError("--engine postgres: bench seed runs on memory or sqlite") }
        let r = try SeedBenchmark.run(
            operations: ops, engine: kind, runs: runs, searchPath: plugins.searchPath, isolation: plugins.isolation)
        if json {
            print(String(decoding: try JSONEncoder().encode(r), as: UTF8.self))
        } else {
            print(BenchSeedCommand.describe(r))
        }
    }

    static func describe(_ r: SeedBenchmark.Result) -> String {
        """
        seed scenario, \(r.operations) operations, engine \(r.engine), medians:
          baseline  \(String(format: "%9.1f µs/op (min %.1f, max %.1f)", r.baseline.usPerOp.median, r.baseline.usPerOp.min, r.baseline.usPerOp.max)); clustering runs \(r.baseline.clusteringRuns)
          optimized \(String(format: "%9.1f µs/op (min %.1f, max %.1f)", r.optimized.usPerOp.median, r.optimized.usPerOp.min, r.optimized.usPerOp.max)); cache hit ratio \(String(format: "%.0f%%", r.optimized.cacheHitRatio * 100)); clustering runs \(r.optimized.clusteringRuns) (\(r.optimized.clusteringRunsSaved) of \(r.operations) saved)
          speed-up  \(String(format: "%.1f× (min %.1f, max %.1f)", r.speedup.median, r.speedup.min, r.speedup.max)); original report: 82.2 ms → 15.9 ms per operation (5.2×)
        """
    }
}

/// `plughost bench startup`.
struct BenchStartupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "startup", abstract: "Load 100 plugins; run the quickstart end to end in a child process.")

    @Option(help: "Plugins to load.") var plugins: Int = 100
    @Option(help: "The pipeline to run end to end.") var pipeline: String = "examples/pipelines/quickstart.yaml"
    @Option(help: "Runs (medians reported).") var runs: Int = 7
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var pluginOptions: PluginOptions

    @OptionGroup var log: LogOptions

    func run() throws {
        let r = try StartupBenchmark.run(
            plugins: plugins, pipeline: pipeline, executable: BenchStartupCommand.executable, runs: runs,
            searchPath: pluginOptions.searchPath, isolation: pluginOptions.isolation)
        if json {
            print(String(decoding: try JSONEncoder().encode(r), as: UTF8.self))
        } else {
            print(BenchStartupCommand.describe(r))
        }
    }

    static var executable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    static func describe(_ r: StartupBenchmark.Result) -> String {
        """
        startup, medians:
          load \(r.plugins) plugins      \(String(format: "%8.2f ms (min %.2f, max %.2f), %.1f µs per plugin", r.loadMs.median, r.loadMs.min, r.loadMs.max, r.loadMs.median * 1000 / Double(r.plugins)))
          run \(r.pipeline) end to end  \(String(format: "%8.1f ms (min %.1f, max %.1f); target < 200 ms", r.pipelineMs.median, r.pipelineMs.min, r.pipelineMs.max))
        """
    }
}

/// `plughost bench all`.
struct BenchAllCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "all", abstract: "Every benchmark: one table, all figures as JSON, and a log-log chart.")

    @Flag(help: "Print all figures as one JSON object.") var json = false
    @Option(help: "Write the per-write cost chart (SVG) here.") var chart: String?
    @Option(help: "Write all figures as JSON here (besides the table).") var out: String?
    @Option(help: "Largest memory workload.") var maxWrites: Int = 1_000_000
    @Option(help: "Runs per memory size (medians reported).") var runs: Int = 3
    @OptionGroup var plugins: PluginOptions

    @OptionGroup var log: LogOptions

    func run() throws {
        func note(_ s: String) { if !json { FileHandle.standardError.write(Data("… \(s)\n".utf8)) } }
        let host = PluginHost(memory: try MemoryService(engine: InMemoryEngine()), searchPath: plugins.searchPath)
        note("calls")
        let calls = try CallBenchmark.run(function: try host.load("sig").function(named: "add3").unwrap("sig.add3"))
        try host.close()

        // Memory: optimized at every size; eager while its predicted time stays under a minute.
        var sizes = [1_000, 3_000, 10_000, 30_000, 100_000, 300_000, 1_000_000].filter { $0 <= maxWrites }
        if sizes.isEmpty { sizes = [maxWrites] }
        var memory: [MemoryBenchmark.SizeResult] = []
        var lastEager: (n: Int, seconds: Double)?
        for n in sizes {
            let predicted = lastEager.map { $0.seconds * pow(Double(n) / Double($0.n), 2) } ?? 0
            let withEager = predicted < 60
            note("memory \(n) writes\(withEager ? " (with eager)" : "")")
            let r = try MemoryBenchmark.run(sizes: [n], runs: runs, eagerMax: withEager ? n : 0)[0]
            if let e = r.eager { lastEager = (n, e.usPerOp.median * Double(n) / 1e6) }
            memory.append(r)
        }
        note("seed 20 / 400, memory and sqlite")
        var seed: [SeedBenchmark.Result] = []
        for engine in [EngineKind.memory, .sqlite] {
            for ops in [20, 400] { seed.append(try SeedBenchmark.run(operations: ops, engine: engine, searchPath: plugins.searchPath)) }
        }
        note("startup")
        let startup = try StartupBenchmark.run(
            pipeline: "examples/pipelines/quickstart.yaml", executable: BenchStartupCommand.executable, searchPath: plugins.searchPath)

        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        struct All: Encodable {
            var calls: CallBenchmark.Result
            var memory: [MemoryBenchmark.SizeResult]
            var seed: [SeedBenchmark.Result]
            var startup: StartupBenchmark.Result
        }
        let all = All(calls: calls, memory: memory, seed: seed, startup: startup)
        let data = try encoder.encode(all)
        if let out { try data.write(to: URL(fileURLWithPath: out)) }
        if let chart {
            let svg = ScalingChart.svg(
                title: "plughost write path: cost per write against workload size", xLabel: "writes in the workload",
                yLabel: "µs per write (median)",
                series: [
                    .init(
                        name: "eager (layers off)", color: "#d62728",
                        points: memory.compactMap { r in r.eager.map { (Double(r.operations), $0.usPerOp.median) } }),
                    .init(name: "optimized", color: "#1f77b4", points: memory.map { (Double($0.operations), $0.optimized.usPerOp.median) }),
                ])
            try Data(svg.utf8).write(to: URL(fileURLWithPath: chart))
        }
        if json {
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print(
            String(
                format: "calls (ns/call): direct %.1f, raw ffi_call %.1f, prepared invoke %.1f, dynamic invoke %.1f; prepared/raw %.3f",
                calls.direct.median, calls.ffiRaw.median, calls.invokePrepared.median, calls.invokeDynamic.median,
                calls.ratioPreparedToRaw.median))
        print("memory (in-memory engine, each write acknowledged alone):")
        print("     writes |  optimized µs/write (min–max) |      eager µs/write (min–max) | speed-up | exact")
        for r in memory {
            let o = r.optimized.usPerOp
            let e = r.eager.map { String(format: "%10.2f (%.2f–%.2f)", $0.usPerOp.median, $0.usPerOp.min, $0.usPerOp.max) } ?? "—"
            print(
                String(
                    format: "%11d | %12.2f (%.2f–%.2f) | %@ | %@ | %@", r.operations, o.median, o.min, o.max,
                    e.padding(toLength: 29, withPad: " ", startingAt: 0) as NSString,
                    (r.speedup.map { String(format: "%7.1f×", $0.median) } ?? "      —") as NSString,
                    ((r.optimized.verified && (r.digestsEqual ?? true)) ? "yes" : "NO") as NSString))
        }
        for s in seed { print(BenchSeedCommand.describe(s)) }
        print(BenchStartupCommand.describe(startup))
    }
}

extension Optional {
    func unwrap(_ what: String) throws -> Wrapped {
        guard let v = self else { throw ValidationError("\(what) is missing") }
        return v
    }
}
