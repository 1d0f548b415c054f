import Foundation
import PlugHost

/// The JSON the C API reads and writes (documented in include/plughost/embed.h).
enum EmbedJSON {
    /// Parses JSON text that must be an object (a key given twice is an error): its members.
    static func object(_ text: String, _ what: String) throws -> [JSONValue.Member] {
        do {
            return try JSONReader.object(text, what: what)
        } catch {
            throw EmbeddingError(.invalidArgument, error.message)
        }
    }

    /// A memory write, in the one memory-write schema (``MemoryWriteJSON``, documented in
    /// embed.h): `goal` required, `plugin` defaulting to "agent", `content` to "".
    static func memoryWrite(_ text: String) throws -> MemoryWrite {
        let members = try object(text, "memory_json")
        do {
            return try MemoryWriteJSON.decode(members)
        } catch let e as JSONSchemaError {
            throw EmbeddingError(.invalidArgument, "memory_json: \(e.message)")
        }
    }

    /// A recall query: exactly one of `{"concept":…}`, `{"text":…}`, `{"plugin":…}`; with
    /// `"concept"`, `"related": true` widens it to the concept's cluster (`false` is the default).
    static func recallQuery(_ text: String) throws -> RecallQuery {
        var o: [String: JSONValue] = [:]
        for m in try object(text, "query_json") { o[m.key] = m.value }
        var related = false
        if let r = o.removeValue(forKey: "related") {
            guard case .bool(let b) = r else {
                throw EmbeddingError(.invalidArgument, "query_json: \"related\" must be true or false, got \(r.description)")
            }
            related = b
        }
        let keys = o.keys.sorted()
        guard keys.count == 1, let key = keys.first, ["concept", "text", "plugin"].contains(key) else {
            throw EmbeddingError(
                .invalidArgument,
                "query_json must have exactly one of the keys \"concept\", \"text\", \"plugin\" (and \"related\" with \"concept\"; got \(keys.isEmpty ? "none" : keys.joined(separator: ", ")))"
            )
        }
        guard case .string(let value)? = o[key] else {
            throw EmbeddingError(.invalidArgument, "query_json: \"\(key)\" must be a string")
        }
        guard !related || key == "concept" else {
            throw EmbeddingError(
                .invalidArgument,
                "query_json: \"related\": true widens recall by concept to the concept's cluster: it needs \"concept\", not \"\(key)\"")
        }
        switch key {
        case "concept": return related ? .related(value) : .concept(value)
        case "text": return .text(value)
        default: return .plugin(value)
        }
    }

    /// `plughost_run_pipeline`'s options: `{"goal": "g", "inputs": {"name": "text" or ["line", …]}}`,
    /// every key optional.
    static func pipelineOptions(_ text: String) throws -> (goal: String?, inputs: [(key: String, text: String)]) {
        var goal: String?
        var inputs: [(key: String, text: String)] = []
        for m in try object(text, "options_json") {
            switch (m.key, m.value) {
            case ("goal", .string(let g)): goal = g
            case ("goal", _): throw EmbeddingError(.invalidArgument, "options_json: \"goal\" must be a string")
            case ("inputs", .object(let members)):
                var seen = Set<String>()
                for input in members {
                    guard seen.insert(input.key).inserted else {
                        throw EmbeddingError(.invalidArgument, "options_json: inputs.\(input.key) is given twice")
                    }
                    switch input.value {
                    case .string(let s): inputs.append((input.key, s))
                    case .array(let items):
                        let lines = try items.map { item -> String in
                            guard case .string(let s) = item, !s.contains(where: \.isNewline) else {
                                throw EmbeddingError(
                                    .invalidArgument, "options_json: inputs.\(input.key) must hold strings without line breaks")
                            }
                            return s
                        }
                        inputs.append((input.key, lines.joined(separator: "\n")))
                    default:
                        throw EmbeddingError(
                            .invalidArgument, "options_json: inputs.\(input.key) must be a string or an array of strings")
                    }
                }
            case ("inputs", _): throw EmbeddingError(.invalidArgument, "options_json: \"inputs\" must be an object")
            default:
                throw EmbeddingError(.invalidArgument, "options_json: unknown key \"\(m.key)\" (it takes goal, inputs)")
            }
        }
        return (goal, inputs)
    }

    /// Recalled memories as a JSON array, best first.
    static func recalled(_ memories: [RecalledMemory]) throws -> String {
        let list: [[String: Any]] = memories.map { r in
            let m = r.memory
            var metadata: Any = NSNull()
            if let text = m.metadata {
                metadata = (try? JSONReader.parse(text)) ?? .string(text)
            }
            return [
                "id": m.id, "goal": m.goal, "plugin": m.plugin, "content": m.content,
                "concepts": m.concepts, "depends_on": m.dependsOn.map { [$0.from, $0.to] },
                "metadata": metadata, "created_at": m.createdAt,
                "expires_at": m.expiresAt.map { $0 as Any } ?? NSNull(), "score": r.score,
            ]
        }
        return text(list)
    }

    /// Loaded plugins as a JSON array.
    static func plugins(_ plugins: [PluginInfo]) throws -> String {
        text(
            plugins.map { p -> [String: Any] in
                [
                    "name": p.name, "descriptor_name": p.descriptorName, "version": p.version,
                    "description": p.description, "path": p.path,
                    "functions": p.functions.map { f -> [String: Any] in
                        var function: [String: Any] = [
                            "name": f.name, "doc": f.doc, "signature": f.signature,
                            "returns": f.returnType.name, "thread_safe": f.threadSafe,
                            "parameters": f.parameters.map(ParameterJSON.object), "result_doc": f.resultDoc,
                        ]
                        if let schema = f.resultSchema { function["result_schema"] = (try? JSONReader.parse(schema)) ?? schema }
                        return function
                    },
                ]
            })
    }

    /// Stats in the one stats schema (``StatsJSON``).
    static func stats(_ stats: RuntimeStats) -> String {
        StatsJSON.runtime(stats)
    }

    /// JSON text of an array or object, keys sorted, by the one writer.
    static func text(_ object: Any) -> String {
        JSONValue.canonicalText(of: object)
    }
}
