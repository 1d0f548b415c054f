import Foundation
import PlugHost

/// One tool call with its arguments checked against the tool's declaration: ready to run.
struct ToolCall: Sendable {
    /// Arguments that do not fit the tool's schema: a JSON-RPC "invalid params" error.
    struct ArgumentError: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }

    /// What a call gave: text for the `text` content, the structured result as JSON text, and
    /// whether the tool failed.
    struct Outcome {
        var text: String
        var structured: String?
        var isError: Bool
    }

    private enum Work {
        case function(PluginFunction, [Value])
        case write(MemoryWrite)
        case recall(RecallQuery, limit: Int)
        case forget(id: String)
        case clusters
    }

    let tool: ToolCatalog.Tool
    let goal: String
    private let work: Work

    init(_ tool: ToolCatalog.Tool, arguments: [JSONValue.Member], defaultGoal: String) throws {
        self.tool = tool
        var args: [String: JSONValue] = [:]
        for a in arguments where args.updateValue(a.value, forKey: a.key) != nil {
            throw ArgumentError("\(tool.name): argument \(a.key) is given twice")
        }
        var goal = defaultGoal
        if let g = args.removeValue(forKey: tool.goalArgument) {
            guard case .string(let s) = g, !s.isEmpty else {
                throw ArgumentError("\(tool.name): argument \(tool.goalArgument) must be a non-empty string, got \(g.description)")
            }
            goal = s
        }
        self.goal = goal
        func string(_ key: String, required: Bool) throws -> String? {
            guard let v = args.removeValue(forKey: key) else {
                if required { throw ArgumentError("\(tool.name): missing argument \(key) (string)") }
                return nil
            }
            guard case .string(let s) = v else {
                throw ArgumentError("\(tool.name): argument \(key): expected string, got \(v.description)")
            }
            return s
        }
        switch tool.target {
        case .function(_, let f):
            var values: [Value] = []
            values.reserveCapacity(f.parameters.count)
            for p in f.parameters {
                guard let v = args.removeValue(forKey: p.name) else {
                    if let d = p.defaultValue {
                        values.append(d)
                        continue
                    }
                    throw ArgumentError("\(tool.name): missing argument \(p.name) (\(p.type.name))")
                }
                do {
                    let value = try Value(json: v, as: p.type)
                    try p.check(value, function: "")
                    values.append(value)
                } catch let e as CallError {
                    throw ArgumentError("\(tool.name): argument \(p.name): \(e.message)")
                }
            }
            work = .function(f, values)
        case .memory(.write):
            let content = try string("content", required: true)!
            guard case .array(let items)? = args.removeValue(forKey: "concepts") else {
                throw ArgumentError("\(tool.name): argument concepts must be an array of strings")
            }
            var concepts: [String] = []
            for (i, item) in items.enumerated() {
                guard case .string(let s) = item else {
                    throw ArgumentError("\(tool.name): concepts[\(i)] must be a string, got \(item.description)")
                }
                concepts.append(s)
            }
            guard !concepts.isEmpty else { throw ArgumentError("\(tool.name): concepts must name at least one concept") }
            let id = try string("id", required: false)
            work = .write(MemoryWrite(goal: goal, plugin: MCPServer.memoryPluginName, id: id, content: content, concepts: concepts))
        case .memory(.recall):
            let concept = try string("concept", required: false)
            let text = try string("text", required: false)
            var limit = 20
            if let l = args.removeValue(forKey: "limit") {
                guard case .signed(let n)? = l.integer, (1...1000).contains(n) else {
                    throw ArgumentError("\(tool.name): argument limit must be an integer 1...1000, got \(l.description)")
                }
                limit = Int(n)
            }
            var related = false
            if let r = args.removeValue(forKey: "related") {
                guard case .bool(let b) = r else {
                    throw ArgumentError("\(tool.name): argument related must be true or false, got \(r.description)")
                }
                related = b
            }
            switch (concept, text) {
            case (let c?, nil): work = .recall(related ? .related(c) : .concept(c), limit: limit)
            case (nil, let t?):
                guard !related else {
                    throw ArgumentError("\(tool.name): related widens recall by concept to the concept's cluster: give concept, not text")
                }
                work = .recall(.text(t), limit: limit)
            default: throw ArgumentError("\(tool.name): give exactly one of concept and text")
            }
        case .memory(.forget):
            work = .forget(id: try string("id", required: true)!)
        case .memory(.clusters):
            work = .clusters
        }
        if let extra = args.keys.sorted().first {
            throw ArgumentError("\(tool.name): unknown argument \(extra)")
        }
    }

    /// Runs the call. Plugin and memory failures are tool errors (`isError`), with the message.
    func run(host: PluginHost) -> Outcome {
        do {
            switch work {
            case .function(let f, let values):
                let result = try f.call(values, goal: goal)
                if result == .void { return Outcome(text: "", structured: nil, isError: false) }
                var w = JSONWriter()
                w.beginObject(); w.key("result"); w.value(result); w.endObject()
                return Outcome(text: result.text, structured: w.text, isError: false)
            case .write(let write):
                let id = try host.memory.write(write)
                var w = JSONWriter()
                w.beginObject(); w.key("id"); w.string(id); w.endObject()
                return Outcome(text: id, structured: w.text, isError: false)
            case .recall(let query, let limit):
                let found = try host.memory.recall(goal: goal, query, limit: limit)
                var w = JSONWriter()
                w.beginObject(); w.key("memories"); w.beginArray()
                for r in found {
                    w.beginObject()
                    w.key("id"); w.string(r.memory.id)
                    w.key("content"); w.string(r.memory.content)
                    w.key("concepts"); w.strings(r.memory.concepts)
                    w.key("plugin"); w.string(r.memory.plugin)
                    w.key("score"); w.double(r.score)
                    w.endObject()
                }
                w.endArray(); w.endObject()
                let text = found.isEmpty ? "no memories" : found.map { "[\($0.memory.id)] \($0.memory.content)" }.joined(separator: "\n")
                return Outcome(text: text, structured: w.text, isError: false)
            case .forget(let id):
                let gone = try host.memory.forget(goal: goal, id: id)
                return Outcome(
                    text: gone ? "forgotten" : "no memory \(id) in goal \(goal)",
                    structured: gone ? #"{"forgotten":true}"# : #"{"forgotten":false}"#, isError: false)
            case .clusters:
                try host.memory.flush()
                let clusters = try host.memory.clusters(goal: goal).first?.clusters ?? []
                let text =
                    clusters.isEmpty
                    ? "no clusters" : clusters.map { "[\($0.id)] \($0.concepts.joined(separator: ", "))" }.joined(separator: "\n")
                return Outcome(text: text, structured: Self.clustersJSON(goal: goal, clusters), isError: false)
            }
        } catch let e as CallError {
            return Outcome(text: e.message, structured: nil, isError: true)
        } catch let e as MemoryError {
            return Outcome(text: e.message, structured: nil, isError: true)
        } catch {
            return Outcome(text: "\(error)", structured: nil, isError: true)
        }
    }

    /// `{"goal": …, "clusters": [{"id", "concepts"}…]}`: one entry of `plughost memory clusters --json`.
    static func clustersJSON(goal: String, _ clusters: [Cluster]) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.key("goal"); w.string(goal)
        w.key("clusters"); w.beginArray()
        for c in clusters {
            w.beginObject(); w.key("id"); w.string(c.id); w.key("concepts"); w.strings(c.concepts); w.endObject()
        }
        w.endArray()
        w.endObject()
        return w.text
    }
}
