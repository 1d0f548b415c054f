import Foundation
import PlugHost
import PlugHostPipeline

/// `plughost bench pipeline`: the main job at scale. A foreach of `text.keywords` and one of
/// `text.summarize` over generated notes, on a fresh SQLite database (the embedded default, with
/// its run journal, as `plughost run` does), run one item at a time and `parallel` items at once,
/// side by side in each round.
package enum PipelineBenchmark {
    /// One mode's figures, medians over the rounds.
    package struct Mode: Sendable, Codable {
        /// Items at once.
        package var parallel: Int
        /// Wall time of the run, seconds.
        package var seconds: Summary
        /// Items (calls) per second.
        package var itemsPerSecond: Summary
        /// Memory writes per second.
        package var writesPerSecond: Summary
        /// Memory writes of one run.
        package var writes: Int
        /// Engine commits of one run (group commits).
        package var commits: Int
        /// Edge operations done and saved against one commit per write, in one run.
        package var edgeOps: Int
        package var edgeOpsSaved: Int
        /// The goal's cluster digest after the run.
        package var digest: String
    }

    package struct Result: Sendable, Codable {
        package var items: Int
        package var rounds: Int
        package var sequential: Mode
        package var parallel: Mode
        /// Parallel throughput over sequential, per round, median.
        package var speedup: Summary
        /// Whether both modes end with the same clusters.
        package var sameClusters: Bool
    }

    /// Runs `rounds` rounds of both modes over `items` generated notes.
    package static func run(
        items: Int, parallel: Int, rounds: Int, journal: Bool = true, searchPath: PluginSearchPath = PluginSearchPath(),
        progress: ((String) -> Void)? = nil
    ) throws -> Result {
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("plughost-bench-pipeline-\(UUID().uuidString)")
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: dir) }
        let notes = dir.appendingPathComponent("notes.txt").path
        try notesText(items).write(toFile: notes, atomically: true, encoding: .utf8)
        let pipeline = dir.appendingPathComponent("bench.yaml").path
        try """
        name: bench
        goal: bench
        plugins: {text: text}
        steps:
          - id: keywords
            call: text.keywords
            foreach: {lines: notes.txt}
            args: {text: "${item}", k: 5}
          - id: summaries
            call: text.summarize
            foreach: {lines: notes.txt}
            args: {text: "${item}", sentences: 1}
        """.write(toFile: pipeline, atomically: true, encoding: .utf8)

        var runs: [Int: [PipelineReport]] = [1: [], parallel: []]
        var digests: [Int: String] = [:]
        var speedups: [Double] = []
        for round in 0..<rounds {
            var seconds: [Int: Double] = [:]
            for p in [1, parallel] {
                let db = dir.appendingPathComponent("r\(round)-p\(p).sqlite").path
                var config = MemoryConfiguration()
                config.backgroundClustering = true
                let host = PluginHost(
                    memory: try MemoryService(engine: EngineFactory.open(.sqlite, location: db), configuration: config),
                    searchPath: searchPath)
                let runner = try PipelineRunner(definition: try PipelineParser.parse(path: pipeline), host: host)
                runner.defaultParallel = p
                let runJournal =
                    journal
                    ? try RunJournal(
                        path: db + ".journal", fingerprint: runner.fingerprint, goal: runner.goal, pipeline: pipeline, resume: false)
                    : nil
                let report = try runner.run(journal: runJournal)
                digests[p] = CanonicalClusters.digest(try host.memory.clusters(goal: "bench"))
                try host.close()
                runs[p]!.append(report)
                seconds[p] = report.seconds
                progress?(
                    String(
                        format: "round %d, parallel %d: %.2f s, %.0f writes/s", round + 1, p, report.seconds,
                        Double(report.memory.writes) / report.seconds))
            }
            speedups.append(seconds[1]! / seconds[parallel]!)
        }
        func mode(_ p: Int) -> Mode {
            let r = runs[p]!
            let last = r.last!
            return Mode(
                parallel: p, seconds: Summary(r.map(\.seconds)),
                itemsPerSecond: Summary(r.map { Double($0.calls) / $0.seconds }),
                writesPerSecond: Summary(r.map { Double($0.memory.writes) / $0.seconds }), writes: last.memory.writes,
                commits: last.memory.commits, edgeOps: last.memory.edgeOps, edgeOpsSaved: last.memory.edgeOpsSaved,
                digest: digests[p]!)
        }
        return Result(
            items: items, rounds: rounds, sequential: mode(1), parallel: mode(parallel), speedup: Summary(speedups),
            sameClusters: digests[1] == digests[parallel])
    }

    /// `count` notes of two sentences, each about one of 40 topics (seeded: the same every time).
    static func notesText(_ count: Int) -> String {
        var rng = SplitMix(seed: 17)
        let topics = (0..<40).map { t in (0..<12).map { w in "topic\(t)word\(w)" } }
        let filler = ["the", "a", "and", "with", "today", "after", "before", "more", "less", "some"]
        var out = ""
        out.reserveCapacity(count * 120)
        for n in 0..<count {
            let topic = topics[Int(rng.next() % 40)]
            for _ in 0..<2 {
                var words: [String] = []
                for _ in 0..<(8 + Int(rng.next() % 5)) {
                    words.append(rng.next() % 3 == 0 ? filler[Int(rng.next() % UInt64(filler.count))] : topic[Int(rng.next() % 12)])
                }
                words[0] = words[0].prefix(1).uppercased() + words[0].dropFirst()
                out += words.joined(separator: " ") + ". "
            }
            out += "Note \(n).\n"
        }
        return out
    }

    struct SplitMix {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}
