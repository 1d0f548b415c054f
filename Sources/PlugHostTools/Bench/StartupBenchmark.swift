import Foundation
import PlugHost
import PlugHostPostgres

/// `plughost bench startup`: loading many plugins, and a pipeline run end to end in a child
/// process.
package enum StartupBenchmark {
    /// The figures.
    package struct Result: Sendable, Codable {
        /// Milliseconds to load `plugins` plugins (median over runs).
        package var loadMs: Summary
        package var plugins: Int
        /// Milliseconds for `plughost run PIPELINE` from process start to exit.
        package var pipelineMs: Summary
        package var pipeline: String
    }

    /// Copies the bundled `text` plugin `count` times under different names and loads them all
    /// into a fresh host, `runs` times; then runs `pipeline` with `executable` in a child process
    /// (SQLite default, a fresh database each time) `runs` times.
    package static func run(
        plugins count: Int = 100, pipeline: String, executable: String, runs: Int = 7,
        searchPath: PluginSearchPath = PluginSearchPath(), isolation: Isolation? = nil
    ) throws -> Result {
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("plughost-startup-\(UUID().uuidString)")
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: dir) }
        let source = try searchPath.resolve("text")
        var paths: [String] = []
        for i in 0..<count {
            let p = dir.appendingPathComponent("libtext_\(i).so").path
            try fm.copyItem(atPath: source, toPath: p)
            paths.append(p)
        }
        var loads: [Double] = []
        for r in 0..<(runs + 1) {
            let host = PluginHost(memory: try MemoryService(engine: InMemoryEngine()), searchPath: searchPath, isolation: isolation)
            let start = monotonicNanos()
            for (i, p) in paths.enumerated() { try host.load(p, as: "text_\(i)") }
            let ms = Double(monotonicNanos() - start) / 1e6
            if r > 0 { loads.append(ms) }  // the first round warms the page cache
            try host.close()
        }
        var pipelineTimes: [Double] = []
        for r in 0..<(runs + 1) {
            let db = dir.appendingPathComponent("run-\(r).sqlite").path
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = ["run", pipeline, "--db", db, "--quiet"] + (isolation.map { ["--isolation", $0.rawValue] } ?? [])
            process.standardOutput = FileHandle.nullDevice
            let errors = Pipe()
            process.standardError = errors
            let start = monotonicNanos()
            try process.run()
            process.waitUntilExit()
            let ms = Double(monotonicNanos() - start) / 1e6
            guard process.terminationStatus == 0 else {
                let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                throw CallError(.badReturn, function: "plughost run", "exited with \(process.terminationStatus): \(text)")
            }
            if r > 0 { pipelineTimes.append(ms) }
        }
        return Result(loadMs: Summary(loads), plugins: count, pipelineMs: Summary(pipelineTimes), pipeline: pipeline)
    }
}
