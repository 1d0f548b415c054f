import Foundation

/// The one JSON schema of a memory write, read by workload replay (``WorkloadOp``), the C API
/// (`plughost_write`) and the CLI (`plughost memory replay`), and written by workload and export
/// lines:
///
/// ```json
/// {"id":"m1","goal":"g","plugin":"p","content":"…","concepts":["a","b c"],
///  "depends_on":[["a","b c"]],"metadata":{…},"ttl_ms":60000}
/// ```
///
/// - `goal` is required, a string.
/// - `id` (a string) is optional; `plugin` defaults to ``defaultPlugin`` (`"agent"`), `content`
///   to `""`; `concepts` is an array of strings, `depends_on` an array of `[from, to]` string
///   pairs. `null` is not taken for an absent string or array.
/// - `metadata` is a JSON object, or `null` for none; it is kept in its canonical form
///   (``JSONValue/canonical``: no white space, keys sorted in UTF-8 byte order, a key given twice
///   keeping its last value, numbers exactly as written, `/` not escaped), so that every reader
///   stores the same bytes for the same object and an export → replay round trip keeps them.
/// - `ttl_ms` is an integer literal from 0 to 2^63−1 (0 = forever): `true`, `1.5`, `1.0`,
///   `1e3`, `-1`, `"5"` and `null` are refused.
/// - A key given twice and an unknown key are errors. Every error names the field.
package enum MemoryWriteJSON {
    /// The writer's name when a write does not give one. The C API documented `"agent"` in its
    /// installed header (embed.h) before workload files defaulted to `"replay"`; the C API is the
    /// public contract that embedders' stored memories and `{"plugin":"agent"}` recalls depend
    /// on, while a workload line written by `plughost memory export` always names its plugin.
    package static let defaultPlugin = "agent"

    /// The keys of a memory write.
    package static let keys = ["id", "goal", "plugin", "content", "concepts", "depends_on", "metadata", "ttl_ms"]

    /// Reads a memory write from the members of a JSON object; `otherKeys` are keys the caller
    /// reads itself (a workload line's `op`).
    package static func decode(_ members: [JSONValue.Member], otherKeys: Set<String> = []) throws -> MemoryWrite {
        try decode(members, byKey: try JSONValue.uniqueMembers(members), otherKeys: otherKeys)
    }

    /// ``decode(_:otherKeys:)`` with the members already by key (``JSONValue/uniqueMembers(_:at:)``).
    package static func decode(_ members: [JSONValue.Member], byKey o: [String: JSONValue], otherKeys: Set<String>) throws -> MemoryWrite {
        if let extra = members.first(where: { !keys.contains($0.key) && !otherKeys.contains($0.key) }) {
            throw JSONSchemaError(
                "unknown key \(extra.key.debugDescription) (known: \((otherKeys.sorted() + keys).joined(separator: ", ")))")
        }
        func string(_ k: String) throws -> String? {
            guard let v = o[k] else { return nil }
            guard case .string(let s) = v else { throw JSONSchemaError("\"\(k)\" must be a string, not \(v.kind)") }
            return s
        }
        guard let goal = try string("goal") else { throw JSONSchemaError("missing \"goal\"") }
        var concepts: [String] = []
        if let c = o["concepts"] {
            guard case .array(let list) = c else { throw JSONSchemaError("\"concepts\" must be an array of strings, not \(c.kind)") }
            concepts.reserveCapacity(list.count)
            for (i, item) in list.enumerated() {
                guard case .string(let s) = item else {
                    throw JSONSchemaError("\"concepts\" must be an array of strings: concepts[\(i)] is \(item.kind)")
                }
                concepts.append(s)
            }
        }
        var deps: [Dependency] = []
        if let d = o["depends_on"] {
            guard case .array(let list) = d else {
                throw JSONSchemaError("\"depends_on\" must be an array of [from, to] pairs, not \(d.kind)")
            }
            for (i, item) in list.enumerated() {
                guard case .array(let pair) = item, pair.count == 2, case .string(let a) = pair[0], case .string(let b) = pair[1] else {
                    throw JSONSchemaError("depends_on[\(i)] must be a pair of strings [from, to]")
                }
                deps.append(Dependency(a, b))
            }
        }
        var metadata: String?
        if let m = o["metadata"] {
            switch m {
            case .null: break
            case .object: metadata = m.canonical
            default: throw JSONSchemaError("\"metadata\" must be a JSON object, not \(m.kind)")
            }
        }
        return MemoryWrite(
            goal: goal, plugin: try string("plugin") ?? defaultPlugin, id: try string("id"),
            content: try string("content") ?? "", concepts: concepts, dependsOn: deps,
            metadata: metadata, ttlMilliseconds: try o["ttl_ms"].map(ttlMilliseconds))
    }

    /// Reads a memory write from JSON text that must be one object.
    package static func decode(_ text: String) throws -> MemoryWrite {
        let v = try JSONReader.parse(text)
        guard case .object(let members) = v else { throw JSONSchemaError("not a JSON object (it is \(v.kind))") }
        return try decode(members)
    }

    /// `ttl_ms`: an integer literal from 0 to Int64.max (`true`, `1.9`, `-0.5`, `"5"` are not).
    private static func ttlMilliseconds(_ t: JSONValue) throws -> Int64 {
        let rule = "\"ttl_ms\" must be a non-negative integer of milliseconds (0 = forever)"
        guard case .number(let n) = t else { throw JSONSchemaError("\(rule), not \(t.kind)") }
        let literal = n.literal
        guard n.isIntegerLiteral else { throw JSONSchemaError("\(rule) without a fraction or exponent, not \(literal)") }
        if literal.hasPrefix("-") {
            guard literal == "-0" else { throw JSONSchemaError("\(rule), not \(literal)") }
            return 0
        }
        guard let v = Int64(literal) else { throw JSONSchemaError("\(rule): \(literal) is over the largest, \(Int64.max)") }
        return v
    }

    /// Writes the members of `w` (not the braces, so a workload line can put its `op` first):
    /// `id` (when given), `goal`, `plugin`, `content`, `concepts`, `depends_on` (when any),
    /// `metadata` (as it is: canonical when it came through ``decode(_:otherKeys:)``) and
    /// `ttl_ms` (when given).
    package static func encodeMembers(_ w: MemoryWrite, into out: inout JSONWriter) {
        if let id = w.id { out.key("id"); out.string(id) }
        out.key("goal"); out.string(w.goal)
        out.key("plugin"); out.string(w.plugin)
        out.key("content"); out.string(w.content)
        out.key("concepts"); out.strings(w.concepts)
        if !w.dependsOn.isEmpty {
            out.key("depends_on")
            out.beginArray()
            for d in w.dependsOn { out.strings([d.from, d.to]) }
            out.endArray()
        }
        if let m = w.metadata { out.key("metadata"); out.raw(m) }
        if let t = w.ttlMilliseconds { out.key("ttl_ms"); out.int(t) }
    }

    /// The JSON object of `w`.
    package static func encode(_ w: MemoryWrite) -> String {
        var out = JSONWriter()
        out.beginObject()
        encodeMembers(w, into: &out)
        out.endObject()
        return out.text
    }
}
