import ArgumentParser
import Foundation
import PlugHost

/// `plughost stats`: what the engine in use holds.
struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Show what the memory engine holds.")
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var engine: EngineOptions

    func run() throws {
        let memory = try engine.openMemoryForReading()
        defer { try? memory.close() }
        var goals: [[String: Any]] = []
        for g in try memory.engine.goals() {
            let graph = try memory.engine.conceptGraph(goal: g)
            let clusters = try memory.clusters(goal: g).first?.clusters.count ?? 0
            let edges = graph.edges.filter { EdgeRule.isEdge(co: $0.counts.co, dep: $0.counts.dep, threshold: memory.configuration.theta) }.count
            goals.append(["goal": g, "concepts": graph.concepts.count, "edges": edges, "clusters": clusters])
        }
        let location = engine.db.map { memory.engine.kind == "postgres" ? PostgresLocation.redact($0) : $0 }
            ?? (memory.engine.kind == "sqlite" ? EngineFactory.defaultSQLitePath : "in memory")
        if json {
            print(try JSONText.encode(["engine": memory.engine.kind, "location": location, "goals": goals]))
        } else {
            print("engine: \(memory.engine.kind) (\(location))")
            if goals.isEmpty { print("no goals yet") }
            for g in goals { print("goal \(g["goal"]!): \(g["concepts"]!) concepts, \(g["edges"]!) edges, \(g["clusters"]!) clusters") }
        }
    }
}
