import ArgumentParser
import Foundation
import PlugHost
import PlugHostPipeline
import PlugHostTools

/// `plughost stats`: what the engine in use holds, its size and the counters stored with it.
struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Show what the memory engine holds, its size and its cumulative counters.")
    @Flag(help: "Print JSON.") var json = false
    @Flag(help: "Print the Prometheus text exposition format (stored counters and per-goal gauges).") var prometheus = false
    @OptionGroup var engine: EngineOptions

    @OptionGroup var log: LogOptions

    func validate() throws {
        if json && prometheus { throw ValidationError("--json and --prometheus: give one of them") }
    }

    func run() throws {
        let memory = try engine.openMemoryForReading()
        defer { try? memory.close() }
        let summary = try MemorySummary(memory)
        if prometheus {
            print(StoredMetrics.text(summary), terminator: "")
            return
        }
        let place = try engine.location()
        let databasePath = place.location.map(MemoryLocation.redacted)
        if json {
            // The one stats schema (StatsJSON): `counters`, `database_path` (null in memory),
            // `database_size_bytes` (null in memory), `engine`, `goals`.
            var out = JSONWriter()
            out.beginObject()
            out.key("counters")
            out.beginObject()
            for (name, value) in summary.allCounters {
                out.key(name); out.int(value)
            }
            out.endObject()
            // StatsJSON.writeEngine's two members, with `database_size_bytes` between them (sorted keys).
            out.key("database_path"); out.string(databasePath)
            out.key("database_size_bytes")
            if let bytes = summary.storageBytes { out.int(bytes) } else { out.null() }
            out.key("engine"); out.string(memory.engine.kind)
            out.key("goals")
            out.beginArray()
            for g in summary.goals {
                out.beginObject()
                out.key("clusters"); out.int(g.clusters)
                out.key("concepts"); out.int(g.concepts)
                out.key("edges"); out.int(g.edges)
                out.key("goal"); out.string(g.goal)
                out.key("memories"); out.int(g.memories)
                out.endObject()
            }
            out.endArray()
            out.endObject()
            print(out.text)
        } else {
            print("engine: \(memory.engine.kind) (\(databasePath ?? "in memory"))")
            print(place.summary)
            if let bytes = summary.storageBytes { print("size: \(bytes) bytes") }
            if summary.goals.isEmpty { print("no goals yet") }
            for g in summary.goals {
                print("goal \(g.goal): \(g.memories) memories, \(g.concepts) concepts, \(g.edges) edges, \(g.clusters) clusters")
            }
            print("counters (all processes, stored in the database):")
            for (name, value) in summary.allCounters { print("  \(name): \(value)") }
        }
    }
}
