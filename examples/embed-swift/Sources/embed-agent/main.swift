// embed-agent: a small agent loop over plughost's async Swift API.
//
// It opens a runtime (the in-memory engine, or a SQLite file with --engine sqlite), loads the
// bundled `text` plugin, extracts keywords and a summary of a few notes (each call writes a
// memory whose concepts are the note's keywords), writes an observation of its own, recalls by
// concept and prints what it recalls and the concept clusters.
//
//   swift run --package-path examples/embed-swift embed-agent --plugin-dir .build/debug
//
// Options: --plugin-dir DIR (repeatable; else PLUGHOST_PLUGIN_PATH), --engine memory|sqlite,
// --db PATH (default: a temporary file for sqlite), --concept C (default: swift),
// --isolation in-process|process (default in-process: `text` is plughost's own plugin). A
// third-party plugin belongs in `process` isolation, a supervised worker (docs/trust-model.md);
// that needs the `plughost-worker` executable beside this program, on PATH, or named by
// PLUGHOST_WORKER (`swift build` of plughost puts one in .build/debug).
import Foundation
import PlugHost

struct Options {
    var pluginDirectories: [String] = []
    var engine = EngineKind.memory
    var databasePath: String?
    var concept = "swift"
    var isolation = Isolation.inProcess

    init(_ arguments: [String]) throws {
        var it = arguments.makeIterator()
        func value(_ flag: String) throws -> String {
            guard let v = it.next() else { throw UsageError("\(flag) needs a value") }
            return v
        }
        while let arg = it.next() {
            switch arg {
            case "--plugin-dir": pluginDirectories.append(try value(arg))
            case "--engine":
                let name = try value(arg)
                let kind = EngineKind(rawValue: name)
                guard EngineFactory.kinds.contains(kind) else {
                    throw UsageError("--engine \(name): use one of \(EngineFactory.kinds.map(\.rawValue).joined(separator: ", "))")
                }
                engine = kind
            case "--db": databasePath = try value(arg)
            case "--concept": concept = try value(arg)
            case "--isolation":
                let name = try value(arg)
                guard let i = Isolation(rawValue: name) else { throw UsageError("--isolation \(name): use in-process or process") }
                isolation = i
            case "-h", "--help":
                print(
                    "usage: embed-agent [--plugin-dir DIR]... [--engine memory|sqlite] [--db PATH] [--concept C]"
                        + " [--isolation in-process|process]")
                exit(0)
            default: throw UsageError("unknown argument \(arg)")
            }
        }
        if engine == .sqlite, databasePath == nil {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("embed-agent-\(UUID().uuidString)")
            databasePath = dir.appendingPathComponent("memory.sqlite").path
        }
    }
}

struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

let goal = "embed-swift"
let notes = [
    "Swift actors isolate mutable state. Actors make concurrent Swift code safe to share.",
    "The agent memory lives in SQLite. A SQLite file keeps the agent memory across restarts.",
    "Agents recall memory by concept. Concept clusters group the memory an agent gathered.",
    "Swift tasks call plugins concurrently. Plugins never block the Swift concurrency pool.",
]

func run() async throws {
    let options = try Options(Array(CommandLine.arguments.dropFirst()))
    // Plugin folders: --plugin-dir, then PLUGHOST_PLUGIN_PATH (the runtime adds it itself).
    let config = HostConfiguration(
        engine: options.engine, databasePath: options.databasePath,
        pluginDirectories: options.pluginDirectories, isolation: options.isolation)
    let runtime = try await PlugHostRuntime.open(config)
    do {
        let text = try await runtime.load("text")
        print("loaded \(text.name) \(text.version): \(text.functions.map(\.name).joined(separator: ", "))")

        // The agent loop: for each note, keywords and summary run concurrently.
        for (i, note) in notes.enumerated() {
            async let keywords = runtime.invoke("text", "keywords", arguments: ["text": .string(note), "k": .int(4)], goal: goal)
            async let summary = runtime.invoke("text", "summarize", [.string(note), .int(1)], goal: goal)
            print("note \(i + 1): keywords: \(try await keywords.text)")
            print("  summary: \(try await summary.text)")
        }
        // A tool call as a model would send it: JSON arguments by name.
        let count = try await runtime.invoke(
            "text", "word_count", jsonArguments: #"{"text": "Agents call tools with JSON arguments."}"#, goal: goal)
        print("word_count via JSON arguments = \(count.text)")

        let id = try await runtime.write(
            MemoryWrite(
                goal: goal, plugin: "agent", content: "Actors and tasks are the Swift concurrency model.",
                concepts: ["Swift", "actors", "tasks"], dependsOn: [Dependency("tasks", "actors")]))
        print("wrote observation \(id)")

        try await runtime.flush()
        let recalled = try await runtime.recall(goal: goal, .concept(options.concept), limit: 10)
        print("recall concept \(options.concept.debugDescription): \(recalled.count) memories")
        for r in recalled {
            print("  [\(r.memory.plugin)] \(r.memory.content.prefix(70))  concepts=\(r.memory.concepts)")
        }
        let context = try await runtime.context(goal: goal, plugin: "text")
        print(
            "text's context: \(context.values.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.prefix(40))" }.joined(separator: "; "))"
        )

        let clusters = try await runtime.clusters(goal: goal)
        print("clusters: \(CanonicalClusters.json(clusters))")
        for g in clusters {
            for c in g.clusters { print("  [\(c.id)] \(c.concepts.joined(separator: ", "))") }
        }
        let stats = try await runtime.stats()
        print(
            "stats: \(stats.invocations) calls, \(stats.memory.writes) writes, \(stats.memory.commits) commits, engine \(stats.engine)\(stats.databasePath.map { " (\($0))" } ?? "")"
        )
    } catch {
        try? await runtime.close()
        throw error
    }
    try await runtime.close()
    print("ok")
}

do {
    try await run()
} catch {
    FileHandle.standardError.write(Data("embed-agent: \(error)\n".utf8))
    exit(1)
}
