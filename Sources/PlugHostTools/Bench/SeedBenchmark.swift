import Foundation
import PlugHost
import PlugHostPostgres

/// `plughost bench seed`: the scenario of the report plughost grew from. Each operation is one
/// plugin execution for a goal: the context lookup, a call of the bundled `text` plugin's
/// `summarize` over a short text (which writes its summary as a memory with the text's keywords
/// as concepts and updates the plugin's goal context), and the clustering that follows.
package enum SeedBenchmark {
    /// Figures of one path.
    package struct PathResult: Sendable, Codable {
        /// Microseconds per operation (median over runs, with min and max).
        package var usPerOp: Summary
        package var cacheHitRatio: Double
        package var clusteringRuns: Int
        package var clusteringRunsSaved: Int
        package var writes: Int
    }

    /// Figures at one operation count.
    package struct Result: Sendable, Codable {
        package var operations: Int
        package var engine: String
        package var optimized: PathResult
        package var baseline: PathResult
        /// Median over runs of baseline / optimized, pairs measured in the same round.
        package var speedup: Summary
    }

    static let texts = [
        "SQLite keeps the database in one file. The write-ahead log lets readers continue while a writer commits.",
        "A database index is a sorted structure over a column. Queries on the indexed column read only a few pages.",
        "Tomato seedlings want warm soil and plenty of light. Water them in the morning and wait for the last frost.",
        "Basil grows well beside tomato plants. Pinch the basil flowers so the plant keeps making leaves.",
        "Espresso is brewed by forcing hot water through finely ground coffee. The grind decides the taste.",
        "A burr grinder gives an even grind. An even grind lets the water extract the coffee evenly.",
        "Agents remember what plugins learn. Memories with shared concepts form clusters in the concept graph.",
        "Lazy clustering runs after several writes instead of after every write, and the result stays exact.",
    ]

    /// Runs `operations` operations on both paths, `runs` rounds after a warm-up.
    package static func run(
        operations: Int, engine: EngineKind, runs: Int = 5, searchPath: PluginSearchPath = PluginSearchPath(),
        isolation: Isolation? = nil
    ) throws -> Result {
        func once(optimized: Bool) throws -> (seconds: Double, stats: MemoryStats) {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("plughost-seed-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: dir) }
            var config = optimized ? MemoryConfiguration() : MemoryConfiguration.baseline
            config.backgroundClustering = true
            let memory = try MemoryService(
                engine: try EngineFactory.open(engine, location: dir.appendingPathComponent("seed.sqlite").path),
                configuration: config)
            let host = PluginHost(memory: memory, searchPath: searchPath, isolation: isolation)
            defer { try? host.close() }
            let text = try host.load("text")
            guard let summarize = text.function(named: "summarize") else {
                throw CallError(.unknownFunction, function: "text.summarize", "the text plugin has no summarize")
            }
            let goal = "seed-goal"
            let start = monotonicNanos()
            for i in 0..<operations {
                _ = try memory.context(goal: goal, plugin: text.name)
                _ = try summarize.call([.string(texts[i % texts.count]), .int(1)], goal: goal)
            }
            try memory.flush()
            let seconds = Double(monotonicNanos() - start) / 1e9
            return (seconds, memory.stats)
        }
        _ = try once(optimized: true)
        _ = try once(optimized: false)
        var opt: [(seconds: Double, stats: MemoryStats)] = [], base: [(seconds: Double, stats: MemoryStats)] = []
        var ratios: [Double] = []
        for _ in 0..<runs {
            let o = try once(optimized: true)
            let b = try once(optimized: false)
            opt.append(o)
            base.append(b)
            ratios.append(b.seconds / o.seconds)
        }
        func summarize(_ rs: [(seconds: Double, stats: MemoryStats)]) -> PathResult {
            let s = rs[0].stats
            return PathResult(
                usPerOp: Summary(rs.map { $0.seconds * 1e6 / Double(operations) }), cacheHitRatio: s.cacheHitRatio,
                clusteringRuns: s.clusteringRuns, clusteringRunsSaved: max(0, operations - s.clusteringRuns), writes: s.writes)
        }
        return Result(
            operations: operations, engine: engine.rawValue, optimized: summarize(opt), baseline: summarize(base),
            speedup: Summary(ratios))
    }
}
