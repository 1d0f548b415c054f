import ArgumentParser
import Foundation
import PlugHost
import PlugHostPipeline
import PlugHostTools

/// `plughost run PIPELINE.yaml`: the main job.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run a plugin pipeline (YAML or JSON).")

    @Argument(help: "The pipeline file.")
    var pipeline: String

    @Option(help: "Overrides the pipeline's goal.")
    var goal: String?

    @Option(name: .customLong("input"), help: "Overrides an input: key=value or key=@file (repeatable).")
    var inputs: [String] = []

    @Flag(help: "Print one JSON object (outputs, step timings, memory stats) instead of the summary.")
    var json = false

    @Flag(help: "No live progress display.")
    var quiet = false

    @OptionGroup var engine: EngineOptions
    @OptionGroup var plugins: PluginOptions

    func run() throws {
        let out = StandardOutput.reserve()
        var definition = try PipelineParser.parse(path: pipeline)
        let host = plugins.makeHost(memory: try engine.openMemory(theta: definition.theta))
        defer { try? host.close() }
        // `--theta` overrides the pipeline's theta (the memory was opened with it).
        if engine.theta != nil { definition.theta = nil }
        let runner = try PipelineRunner(definition: definition, host: host, goal: goal, inputOverrides: inputs)
        let display = ProgressDisplay(enabled: !quiet && !json && isatty(STDERR_FILENO) == 1)
        let report: PipelineReport
        do {
            report = try runner.run(progress: display.handle)
        } catch {
            display.finish()
            throw error
        }
        display.finish()
        try host.close()
        if json {
            out.writeLine(JSONText.encode(report.jsonObject))
        } else {
            out.writeLine(RunCommand.summary(report))
        }
    }

    static func summary(_ r: PipelineReport) -> String {
        var out = ""
        for (name, value) in r.outputs {
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
        return out
    }
}

/// The live progress line on a terminal: step, items done of total, rate and ETA.
final class ProgressDisplay: @unchecked Sendable {
    private let enabled: Bool
    private var stepStart = Date()
    private var label = ""
    private var shown = false

    init(enabled: Bool) { self.enabled = enabled }

    func handle(_ event: PipelineProgress) {
        guard enabled else { return }
        switch event {
        case .stepStarted(let index, let count, let id, let items):
            stepStart = Date()
            label = "[\(index + 1)/\(count)] \(id)"
            draw("\(label): 0/\(items)")
        case .itemFinished(_, let done, let items):
            let elapsed = Date().timeIntervalSince(stepStart)
            let rate = elapsed > 0 ? Double(done) / elapsed : 0
            let eta = rate > 0 ? Double(items - done) / rate : 0
            draw(String(format: "%@: %d/%d  %.0f/s  ETA %.1fs", label, done, items, rate, eta))
        case .stepFinished(_, let seconds):
            draw(String(format: "%@: done in %.0f ms", label, seconds * 1000))
        }
    }

    private func draw(_ line: String) {
        shown = true
        FileHandle.standardError.write(Data("\r\u{1B}[2K\(line)".utf8))
    }

    func finish() {
        if enabled && shown { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
    }
}
