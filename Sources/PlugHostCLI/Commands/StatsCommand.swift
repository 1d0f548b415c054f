import ArgumentParser
import Foundation
import PlugHost
import PlugHostPipeline
import PlugHostTools

/// `plughost stats`: what the engine in use holds.
struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Show what the memory engine holds.")
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var engine: EngineOptions

    @OptionGroup var log: LogOptions

    func run() throws {
        let memory = try engine.openMemoryForReading()
        defer { try? memory.close() }
        var goals: [[String: Any]] = []
        for g in try memory.engine.goals() {
            let graph = try memory.engine.conceptGraph(goal: g)
            let clusters = try memory.clusters(goal: g).first?.clusters.count ?? 0
            let edges = graph.edges.filter { EdgeRule.isEdge(co: $0.counts.co, dep: $0.counts.dep, threshold: memory.configuration.theta) }
                .count
            goals.append(["goal": g, "concepts": graph.concepts.count, "edges": edges, "clusters": clusters])
        }
        let databasePath = try EngineFactory.provider(engine.kind()).describeLocation(engine.db)
        if json {
            // The one stats schema (StatsJSON): `database_path` (null in memory), `engine`, `goals`.
            var out = JSONWriter()
            out.beginObject()
            StatsJSON.writeEngine(kind: memory.engine.kind, databasePath: databasePath, into: &out)
            out.key("goals"); out.raw(JSONText.encode(goals))
            out.endObject()
            print(out.text)
        } else {
            print("engine: \(memory.engine.kind) (\(databasePath ?? "in memory"))")
            if goals.isEmpty { print("no goals yet") }
            for g in goals { print("goal \(g["goal"]!): \(g["concepts"]!) concepts, \(g["edges"]!) edges, \(g["clusters"]!) clusters") }
        }
    }
}
