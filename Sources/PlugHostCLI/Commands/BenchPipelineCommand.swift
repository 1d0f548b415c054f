import ArgumentParser
import Foundation
import PlugHost
import PlugHostTools

/// `plughost bench pipeline`: a large foreach on the SQLite default, one item at a time and
/// `--parallel` items at once, side by side; and the quickstart end to end.
struct BenchPipelineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract:
            "A foreach of text.keywords + text.summarize over generated notes on SQLite: sequential vs parallel, side by side; the quickstart end to end."
    )

    @Option(help: "Notes (items of each foreach step).") var items: Int = 20_000
    @Option(help: "Items at once in the parallel mode.") var parallel: Int = 8
    @Option(help: "Rounds (medians reported); each runs both modes.") var rounds: Int = 3
    @Option(help: "Runs of the quickstart end to end (0: skip).") var quickstartRuns: Int = 7
    @Option(help: "The quickstart pipeline.") var quickstart: String = "examples/pipelines/quickstart.yaml"
    @Flag(inversion: .prefixedNo, help: "Keep the run journal, as plughost run does.") var journal = true
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var plugins: PluginOptions

    func validate() throws {
        guard items > 0, rounds > 0, (2...256).contains(parallel) else {
            throw ValidationError("--items and --rounds must be positive, --parallel from 2 to 256")
        }
    }

    @OptionGroup var log: LogOptions

    func run() throws {
        let r = try PipelineBenchmark.run(
            items: items, parallel: parallel, rounds: rounds, journal: journal, searchPath: plugins.searchPath,
            progress: json ? nil : { FileHandle.standardError.write(Data(($0 + "\n").utf8)) })
        let q =
            quickstartRuns > 0
            ? try StartupBenchmark.run(
                plugins: 1, pipeline: quickstart, executable: BenchStartupCommand.executable, runs: quickstartRuns,
                searchPath: plugins.searchPath)
            : nil
        if json {
            struct Out: Encodable {
                var pipeline: PipelineBenchmark.Result
                var quickstartMs: Summary?
            }
            print(String(decoding: try JSONEncoder().encode(Out(pipeline: r, quickstartMs: q?.pipelineMs)), as: UTF8.self))
            return
        }
        func line(_ m: PipelineBenchmark.Mode) -> String {
            String(
                format: "  parallel %-3d %8.2f s  %8.0f items/s  %8.0f writes/s  %6d commits  %7d edge ops, %6d saved (%.0f%%)",
                m.parallel, m.seconds.median, m.itemsPerSecond.median, m.writesPerSecond.median, m.commits, m.edgeOps,
                m.edgeOpsSaved, m.edgeOps + m.edgeOpsSaved > 0 ? Double(m.edgeOpsSaved) * 100 / Double(m.edgeOps + m.edgeOpsSaved) : 0)
        }
        print(
            """
            pipeline: \(r.items) notes × (text.keywords + text.summarize) on SQLite, \(r.rounds) rounds, medians:
            \(line(r.sequential))
            \(line(r.parallel))
              speedup \(String(format: "%.2f× (min %.2f, max %.2f)", r.speedup.median, r.speedup.min, r.speedup.max)); target ≥ 5×, ≥ 10k writes/s
              clusters equal in both modes: \(r.sameClusters ? "yes" : "NO") (digest \(r.parallel.digest.prefix(16)))
            """)
        if let q {
            print(
                String(
                    format: "quickstart end to end: %.1f ms (min %.1f, max %.1f); target < 100 ms", q.pipelineMs.median, q.pipelineMs.min,
                    q.pipelineMs.max))
        }
    }
}
