import ArgumentParser
import Foundation
import PlugHost
import PlugHostPipeline
import PlugHostTools
import Synchronization

/// `plughost run PIPELINE.yaml`: the main job.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run a plugin pipeline (YAML or JSON).")

    @Argument(help: "The pipeline file.", completion: .file(extensions: ["yaml", "yml", "json"]))
    var pipeline: String

    @Option(name: [.short, .long], help: "Overrides the pipeline's goal.")
    var goal: String?

    @Option(name: [.customShort("i"), .customLong("input")], help: "Overrides an input: key=value or key=@file (repeatable).")
    var inputs: [String] = []

    @Flag(
        help:
            "Print one JSON object (outputs, step timings, memory stats) instead of the summary; on failure, a JSON error object with the partial report."
    )
    var json = false

    @Flag(name: [.short, .long], help: "No live progress display.")
    var quiet = false

    @Flag(
        name: [.customShort("n"), .long],
        help: "Validate the pipeline and print its plan (steps, what each waits for, items, parallelism); run nothing.")
    var dryRun = false

    @Option(
        name: [.short, .long], help: "Items at once for foreach steps without parallel: whose function may run concurrently (default 1).")
    var parallel: Int = 1

    @Flag(help: "Re-run only what the last run of this pipeline and goal did not finish, from its journal.")
    var resume = false

    @Option(help: "The run journal (default: runs/NAME-HASH.journal beside the SQLite database, or .plughost/runs/).")
    var journal: String?

    @Flag(help: "Keep no run journal (the run cannot be resumed).")
    var noJournal = false

    @OptionGroup var engine: EngineOptions
    @OptionGroup var writePath: WritePathOptions
    @OptionGroup var plugins: PluginOptions
    @OptionGroup var log: LogOptions

    func validate() throws {
        guard PipelineParser.parallelRange.contains(parallel) else {
            throw ValidationError(
                "--parallel must be from \(PipelineParser.parallelRange.lowerBound) to \(PipelineParser.parallelRange.upperBound) (got \(parallel))"
            )
        }
        if resume && noJournal { throw ValidationError("--resume needs the journal; it cannot be used with --no-journal") }
    }

    func run() throws {
        // Failures (a PipelineError with its partial report) go to CommandRunner: `Error: …`, or
        // with --json the JSON error object; exit 1 when a step failed, 2 for an invalid file,
        // 130 after Ctrl-C (ExitStatus).
        try log.bootstrap()
        try execute(StandardOutput.reserve())
    }

    private func execute(_ out: FileHandle) throws {
        var definition = try PipelineParser.parse(path: pipeline)
        let host = plugins.makeHost(memory: try engine.openMemory(baseline: writePath.baseline, theta: definition.theta))
        defer { try? host.close() }
        // `--theta` overrides the pipeline's theta (the memory was opened with it).
        if engine.theta != nil { definition.theta = nil }
        let runner = try PipelineRunner(definition: definition, host: host, goal: goal, inputOverrides: inputs)
        runner.defaultParallel = parallel
        let journalPath =
            noJournal
            ? nil
            : journal
                ?? journalFolder(host).map {
                    RunJournal.defaultPath(folder: $0, pipeline: pipeline, name: definition.name, goal: runner.goal)
                }
        if dryRun {
            out.writeLine(json ? JSONText.encode(runner.plan(journal: journalPath)) : runner.planText(journal: journalPath))
            return
        }
        if resume && journalPath == nil {
            throw PipelineError(
                .journal, file: pipeline, "nothing to resume: the in-memory engine keeps no run journal (give --journal PATH)")
        }
        let runJournal = try journalPath.map {
            try RunJournal(path: $0, fingerprint: runner.fingerprint, goal: runner.goal, pipeline: pipeline, resume: resume)
        }
        let display = ProgressDisplay(mode: ProgressDisplay.mode(enabled: !quiet && !json))
        let interrupt = InterruptHandler {
            runner.cancel()
            display.note("interrupting: running items finish, nothing new starts (Ctrl-C again to quit at once)")
        } again: {
            display.finish()
        }
        defer { interrupt.cancel() }
        let report: PipelineReport
        do {
            report = try runner.run(progress: display.handle, journal: runJournal)
        } catch let e as PipelineError {
            display.finish()
            try? host.close()
            if !json, let partial = e.report {
                FileHandle.standardError.write(Data((RunCommand.summary(partial, outputs: false) + "\n").utf8))
            }
            throw e
        } catch {
            display.finish()
            throw error
        }
        display.finish()
        try host.close()
        out.writeLine(json ? JSONText.encode(report.jsonObject) : RunCommand.summary(report))
        if !report.succeeded { throw ExitCode(1) }
    }

    /// Where the run journals of this memory go: `runs/` beside a SQLite database, `.plughost/runs`
    /// for PostgreSQL, none for the in-memory engine.
    private func journalFolder(_ host: PluginHost) -> String? {
        let e = host.memory.engine
        switch e.kind {
        case "sqlite":
            guard let file = e.location else { return nil }
            return ((file as NSString).deletingLastPathComponent as NSString).appendingPathComponent("runs")
        case "memory": return nil
        default: return ".plughost/runs"
        }
    }

    static func summary(_ r: PipelineReport, outputs: Bool = true) -> String {
        var out = ""
        for (name, value) in outputs ? r.outputs : [] {
            switch value {
            case .list(let items):
                out += "\(name):\n"
                for item in items { out += "  - \(item.text.replacingOccurrences(of: "\n", with: "\n    "))\n" }
            case .value(let v):
                let text = v.text
                out += text.contains("\n") ? "\(name):\n  \(text.replacingOccurrences(of: "\n", with: "\n  "))\n" : "\(name): \(text)\n"
            }
        }
        let m = r.memory
        out +=
            "\n\(r.name): \(r.steps.count) steps, \(r.calls) calls in \(String(format: "%.1f", r.seconds * 1000)) ms (goal \(r.goal)\(r.baseline ? ", eager baseline" : ""))\n"
        out += "memory: \(m.writes) writes, cache hit ratio \(String(format: "%.0f%%", m.cacheHitRatio * 100)), "
        if m.deduplicated > 0 { out += "\(m.deduplicated) writes deduplicated, " }
        out += "\(m.clusteringRuns) clustering runs (\(m.clusteringRunsSaved) saved against eager), "
        out += "\(m.edgeOps) edge ops (\(m.edgeOpsSaved) saved)"
        if r.restored > 0 { out += "\nresumed: \(r.restored) items restored from the journal" }
        if !r.failures.isEmpty {
            out += "\n\(r.failures.count) item\(r.failures.count == 1 ? "" : "s") failed\(r.succeeded ? " (on_error: ignore)" : ""):"
            for f in r.failures.prefix(20) {
                out += "\n  step \(f.step)\(f.item.map { ", item \($0)" } ?? "")\(f.itemText.map { " (\($0))" } ?? ""): \(f.message)"
            }
            if r.failures.count > 20 { out += "\n  … and \(r.failures.count - 20) more (--json lists them all)" }
        }
        return out
    }
}

/// SIGINT during a run: the first one calls `first` (a clean stop), the second `again` and
/// exits at once with 130.
final class InterruptHandler: Sendable {
    // Dispatch sources are thread-safe; Dispatch does not mark them Sendable.
    nonisolated(unsafe) private let source: any DispatchSourceSignal
    private let hits = Mutex(0)

    init(_ first: @escaping @Sendable () -> Void, again: @escaping @Sendable () -> Void) {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: DispatchQueue(label: "plughost.sigint"))
        source.setEventHandler { [self] in
            let n = hits.withLock {
                $0 += 1
                return $0
            }
            if n == 1 {
                first()
            } else {
                again()
                _exit(130)
            }
        }
        source.resume()
    }

    func cancel() {
        source.cancel()
        signal(SIGINT, SIG_DFL)
    }
}
