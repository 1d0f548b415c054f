import Foundation
import PlugHost

/// The JSON the C API reads and writes (documented in include/plughost/embed.h).
enum EmbedJSON {
    /// Parses JSON text that must be an object.
    static func object(_ text: String, _ what: String) throws -> [String: Any] {
        guard let json = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) else {
            throw EmbeddingError(.invalidArgument, "\(what) is not valid JSON: \(excerpt(text))")
        }
        guard let object = json as? [String: Any] else {
            throw EmbeddingError(.invalidArgument, "\(what) must be a JSON object, got \(excerpt(text))")
        }
        return object
    }

    /// A memory write: `{"goal":…, "plugin":…, "id":…, "content":…, "concepts":[…],
    /// "depends_on":[[from,to],…], "metadata":{…}, "ttl_ms":…}`; `goal` required, `plugin`
    /// defaults to "agent", `content` to "".
    static func memoryWrite(_ text: String) throws -> MemoryWrite {
        let o = try object(text, "memory_json")
        func bad(_ message: String) -> EmbeddingError { EmbeddingError(.invalidArgument, "memory_json: \(message)") }
        let known = ["goal", "plugin", "id", "content", "concepts", "depends_on", "metadata", "ttl_ms"]
        if let extra = o.keys.sorted().first(where: { !known.contains($0) }) {
            throw bad("unknown key \(extra.debugDescription) (known: \(known.joined(separator: ", ")))")
        }
        func string(_ k: String) throws -> String? {
            guard let v = o[k], !(v is NSNull) else { return nil }
            guard let s = v as? String else { throw bad("\"\(k)\" must be a string") }
            return s
        }
        guard let goal = try string("goal") else { throw bad("missing \"goal\"") }
        var concepts: [String] = []
        if let c = o["concepts"], !(c is NSNull) {
            guard let list = c as? [Any] else { throw bad("\"concepts\" must be an array of strings") }
            for (i, item) in list.enumerated() {
                guard let s = item as? String else { throw bad("concepts[\(i)] must be a string") }
                concepts.append(s)
            }
        }
        var deps: [Dependency] = []
        if let d = o["depends_on"], !(d is NSNull) {
            guard let list = d as? [Any] else { throw bad("\"depends_on\" must be an array of [from, to] pairs") }
            for (i, item) in list.enumerated() {
                guard let pair = item as? [Any], pair.count == 2, let a = pair[0] as? String, let b = pair[1] as? String else {
                    throw bad("depends_on[\(i)] must be a pair of strings [from, to]")
                }
                deps.append(Dependency(a, b))
            }
        }
        var metadata: String?
        if let m = o["metadata"], !(m is NSNull) {
            guard m is [String: Any], let data = try? JSONSerialization.data(withJSONObject: m, options: [.sortedKeys, .withoutEscapingSlashes]) else {
                throw bad("\"metadata\" must be a JSON object")
            }
            metadata = String(decoding: data, as: UTF8.self)
        }
        var ttl: Int64?
        if let t = o["ttl_ms"], !(t is NSNull) {
            guard case .int(let v)? = try? Value(json: t, as: .int64), v >= 0 else {
                throw bad("\"ttl_ms\" must be a non-negative integer")
            }
            ttl = v
        }
        return MemoryWrite(
            goal: goal, plugin: try string("plugin") ?? "agent", id: try string("id"),
            content: try string("content") ?? "", concepts: concepts, dependsOn: deps,
            metadata: metadata, ttlMilliseconds: ttl)
    }

    /// A recall query: exactly one of `{"concept":…}`, `{"text":…}`, `{"plugin":…}`.
    static func recallQuery(_ text: String) throws -> RecallQuery {
        let o = try object(text, "query_json")
        let keys = o.keys.sorted()
        guard keys.count == 1, let key = keys.first, ["concept", "text", "plugin"].contains(key) else {
            throw EmbeddingError(.invalidArgument, "query_json must have exactly one of the keys \"concept\", \"text\", \"plugin\" (got \(keys.isEmpty ? "none" : keys.joined(separator: ", ")))")
        }
        guard let value = o[key] as? String else {
            throw EmbeddingError(.invalidArgument, "query_json: \"\(key)\" must be a string")
        }
        switch key {
        case "concept": return .concept(value)
        case "text": return .text(value)
        default: return .plugin(value)
        }
    }

    /// Recalled memories as a JSON array, best first.
    static func recalled(_ memories: [RecalledMemory]) throws -> String {
        let list: [[String: Any]] = memories.map { r in
            let m = r.memory
            var metadata: Any = NSNull()
            if let text = m.metadata {
                metadata = (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) ?? text
            }
            return [
                "id": m.id, "goal": m.goal, "plugin": m.plugin, "content": m.content,
                "concepts": m.concepts, "depends_on": m.dependsOn.map { [$0.from, $0.to] },
                "metadata": metadata, "created_at": m.createdAt,
                "expires_at": m.expiresAt.map { $0 as Any } ?? NSNull(), "score": r.score,
            ]
        }
        return try text(list)
    }

    /// Loaded plugins as a JSON array.
    static func plugins(_ plugins: [PluginInfo]) throws -> String {
        try text(plugins.map { p -> [String: Any] in
            [
                "name": p.name, "descriptor_name": p.descriptorName, "version": p.version,
                "description": p.description, "path": p.path,
                "functions": p.functions.map { f -> [String: Any] in
                    [
                        "name": f.name, "doc": f.doc, "signature": f.signature,
                        "returns": f.returnType.name, "thread_safe": f.threadSafe,
                        "parameters": f.parameters.map { ["name": $0.name, "type": $0.type.name] },
                    ]
                },
            ]
        })
    }

    /// Stats as a JSON object with snake_case keys.
    static func stats(_ stats: RuntimeStats) throws -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(stats), as: UTF8.self)
    }

    /// JSON text of an array or object, keys sorted.
    static func text(_ object: Any) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
    }

    static func excerpt(_ s: String) -> String {
        (s.count > 60 ? String(s.prefix(60)) + "…" : s).debugDescription
    }
}
