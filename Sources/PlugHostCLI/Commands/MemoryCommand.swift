import ArgumentParser
import Foundation
import PlugHost
import PlugHostPipeline
import PlugHostTools

/// `plughost memory …`: the memory write path from the command line.
struct MemoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memory", abstract: "Replay workloads, print clusters, recall and forget memories, export and back up.",
        subcommands: [
            ReplayCommand.self, ClustersCommand.self, RecallCommand.self, ForgetCommand.self, GraphCommand.self, StressCommand.self,
            ExportCommand.self, BackupCommand.self, ReleaseContextCommand.self,
        ])
}

/// `plughost memory release-context --goal G --plugin NAME`.
struct ReleaseContextCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release-context",
        abstract: "Unbind a plugin's goal context from its file, so that the next file declaring that name takes it over.",
        discussion: """
            A plugin's goal context belongs to the file that first used it (plughost:file in the context). Another \
            file declaring the same name is refused it. Release it when you moved or replaced the plugin on purpose.
            """)
    @Option(help: "The goal.") var goal: String
    @Option(help: "The plugin's declared name.") var plugin: String
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var engine: EngineOptions

    @OptionGroup var log: LogOptions

    func run() throws {
        let memory = try engine.openMemory()
        defer { try? memory.close() }
        guard let owner = try memory.contextValue(goal: goal, plugin: plugin, key: ContextKeys.owner) else {
            throw CommandError(.notFound, "the context of plugin \(plugin) in goal \(goal) is bound to no file")
        }
        try memory.setContextValue(goal: goal, plugin: plugin, key: ContextKeys.owner, value: nil)
        try memory.close()
        if json {
            print(JSONText.encode(["goal": goal, "plugin": plugin, "released_from": owner]))
        } else {
            print("released the context of plugin \(plugin) in goal \(goal) from \(owner)")
        }
    }
}

/// `plughost memory replay FILE.jsonl`.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay", abstract: "Apply a JSONL workload of writes and forgets, then flush.")

    @Argument(help: "The workload, one JSON object a line.")
    var file: String

    @Flag(help: "Print one JSON object.")
    var json = false

    @Option(name: .customLong("clusters-out"), help: "Write the canonical clusters to this file after the flush.")
    var clustersOut: String?

    @OptionGroup var engine: EngineOptions
    @OptionGroup var writePath: WritePathOptions

    @OptionGroup var log: LogOptions

    func run() throws {
        let (ops, lines) = try WorkloadReplayer.loadNumbered(path: file)
        // A replay creates the database even for an empty workload (a way to make one).
        let memory = try engine.openMemory(baseline: writePath.baseline, deferCreation: false)
        defer { try? memory.close() }
        let report = try WorkloadReplayer.replay(ops, into: memory, source: file, lines: lines)
        if let clustersOut {
            let text = CanonicalClusters.json(try memory.clusters())
            do {
                try Data(text.utf8).write(to: URL(fileURLWithPath: clustersOut))
            } catch {
                throw CommandError(.invalidInput, "--clusters-out \(clustersOut): cannot write: \(error.localizedDescription)")
            }
        }
        try memory.close()
        let s = report.stats
        if json {
            print(
                JSONText.encode([
                    "ops": report.ops, "writes": report.writes, "forgets": report.forgets,
                    "forgets_unknown": report.forgetsOfUnknownIDs, "seconds": report.seconds, "us_per_op": report.usPerOp,
                    "memory": StatsJSON.memory(s), "digest": report.digest, "baseline": writePath.baseline,
                ]))
        } else {
            print(
                """
                replayed \(report.ops) ops (\(report.writes) writes, \(report.forgets) forgets\(report.forgetsOfUnknownIDs > 0 ? ", \(report.forgetsOfUnknownIDs) of unknown ids" : "")) in \(String(format: "%.3f", report.seconds)) s, \(String(format: "%.2f", report.usPerOp)) µs/op\(writePath.baseline ? " (eager baseline)" : "")
                cache hit ratio \(String(format: "%.1f%%", s.cacheHitRatio * 100)); \(s.deduplicated) writes deduplicated; edge ops \(s.edgeOps) (\(s.edgeOpsSaved) saved); clustering runs \(s.clusteringRuns) (\(s.clusteringRunsSaved) saved); \(s.batches) batches in \(s.commits) commits
                digest \(report.digest)
                """)
        }
    }
}

/// `plughost memory clusters`.
struct ClustersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clusters", abstract: "Print the canonical concept clusters (after a flush).")

    @Option(help: "Only this goal.")
    var goal: String?

    @Flag(help: "Print the canonical JSON array.")
    var json = false

    @OptionGroup var engine: EngineOptions

    @OptionGroup var log: LogOptions

    func run() throws {
        let memory = try engine.openMemoryForReading()
        let clusters = try memory.clusters(goal: goal)
        try memory.close()
        if json {
            print(CanonicalClusters.json(clusters))
            return
        }
        if clusters.isEmpty { print("no clusters") }
        for g in clusters {
            print("goal \(g.goal): \(g.clusters.count) cluster\(g.clusters.count == 1 ? "" : "s")")
            for c in g.clusters { print("  [\(c.id)] \(c.concepts.joined(separator: ", "))") }
        }
        print("digest \(CanonicalClusters.digest(clusters))")
    }
}

/// `plughost memory recall`.
struct RecallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recall", abstract: "Recall memories of a goal by concept or by text.")

    @Option(name: [.short, .long], help: "The goal.") var goal: String
    @Option(help: "A concept to look up.") var concept: String?
    @Option(help: "Words to search for.") var text: String?
    @Flag(
        help: ArgumentHelp(
            "With --concept: the memories holding any concept of the concept's cluster, newest first (exact: the goal's pending clustering runs first)."
        )) var related = false
    @Option(help: "Most memories to print.") var limit: Int = 20
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var engine: EngineOptions

    func validate() throws {
        guard (concept == nil) != (text == nil) else { throw ValidationError("give exactly one of --concept and --text") }
        guard !related || concept != nil else {
            throw ValidationError("--related widens recall by concept to the concept's cluster: it needs --concept, not --text")
        }
    }

    @OptionGroup var log: LogOptions

    func run() throws {
        let memory = try engine.openMemoryForReading()
        defer { try? memory.close() }
        let query: RecallQuery = concept.map { related ? .related($0) : .concept($0) } ?? .text(text!)
        let results = try memory.recall(goal: goal, query, limit: limit)
        if json {
            print(
                JSONText.encode(
                    results.map { r -> [String: Any] in
                        [
                            "id": r.memory.id, "plugin": r.memory.plugin, "content": r.memory.content,
                            "concepts": r.memory.concepts, "score": r.score, "metadata": r.memory.metadata as Any? ?? NSNull(),
                        ]
                    }))
        } else {
            if results.isEmpty { print("nothing recalled") }
            for r in results {
                print("\(r.memory.id) [\(r.memory.plugin)]\(r.score > 0 ? String(format: " %.3f", r.score) : ""): \(r.memory.content)")
                print("    concepts: \(r.memory.concepts.joined(separator: ", "))")
            }
        }
    }
}

/// `plughost memory forget ID`.
struct ForgetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "forget", abstract: "Forget a memory by id.")
    @Argument(help: "The memory's id.") var id: String
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var engine: EngineOptions

    @OptionGroup var log: LogOptions

    func run() throws {
        let memory = try engine.openMemory()
        defer { try? memory.close() }
        guard try memory.forget(id: id) else { throw CommandError(.notFound, "no memory with id \(id)") }
        try memory.close()
        print(json ? JSONText.encode(["forgot": id]) : "forgot \(id)")
    }
}

/// `plughost memory graph --goal G [filters] [--format dot|json]`.
struct GraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph", abstract: "Print a goal's concept graph, or part of it, as Graphviz DOT or JSON.",
        discussion: """
            Filters apply in this order: --min-weight keeps edges of weight co + dep >= W; --cluster keeps one \
            cluster's concepts; --concept keeps the concepts at most --depth hops from it; --top keeps the N heaviest \
            edges (ties by key order). With --min-weight or --top, concepts left without an edge are left out. DOT: \
            clusters are boxes named after their most connected concept, node size by held, pen width by weight, a \
            legend; render with `dot -Tsvg`. JSON: goal, theta, clusters, nodes and edges, sorted.
            """)
    @Option(help: "The goal.") var goal: String
    @Option(help: "Output format.") var format: ConceptGraphFormat = .dot
    @Flag(help: "Print JSON (the same as --format json).") var json = false
    @Option(help: "Only this cluster's concepts (its id: its smallest concept, as `memory clusters` prints).") var cluster: String?
    @Option(help: "Only the neighbourhood of this concept.") var concept: String?
    @Option(help: "Hops from --concept (default: 1; 0: the concept alone).") var depth: Int?
    @Option(name: .customLong("min-weight"), help: "Only edges whose weight co + dep is at least this.") var minWeight: Int64?
    @Option(help: "Only the N heaviest edges.") var top: Int?
    @OptionGroup var engine: EngineOptions

    func validate() throws {
        if depth != nil, concept == nil { throw ValidationError("--depth needs --concept") }
        if let depth, depth < 0 { throw ValidationError("--depth \(depth): must be 0 or more") }
        if let minWeight, minWeight < 1 { throw ValidationError("--min-weight \(minWeight): must be 1 or more") }
        if let top, top < 1 { throw ValidationError("--top \(top): must be 1 or more") }
        if json, format != .dot, format != .json { throw ValidationError("--json contradicts --format \(format.rawValue)") }
    }

    @OptionGroup var log: LogOptions

    func run() throws {
        let memory = try engine.openMemoryForReading()
        defer { try? memory.close() }
        let filter = ConceptGraphFilter(cluster: cluster, concept: concept, depth: depth ?? 1, minWeight: minWeight, top: top)
        // An unknown cluster or concept is a ConceptGraphError: "Error: …", exit status 1.
        print(try ConceptGraphExport.render(memory: memory, goal: goal, filter: filter, format: json ? .json : format))
    }
}

extension ConceptGraphFormat: ExpressibleByArgument {}
