import Foundation

/// One operation of a replayable workload (`plughost memory replay`).
public enum WorkloadOp: Sendable, Hashable {
    /// Write a memory.
    case write(MemoryWrite)
    /// Forget a memory by id.
    case forget(String)

    /// Parses one JSONL line: `{"op":"write","id":…,"goal":…,"plugin":…,"content":…,
    /// "concepts":[…],"depends_on":[[a,b],…],"metadata":{…},"ttl_ms":…}` or
    /// `{"op":"forget","id":…}`. Errors name the field.
    public static func parse(_ line: Substring) throws -> WorkloadOp {
        guard let data = line.data(using: .utf8),
            let obj = try? JSONSerialization.jsonObject(with: data) else {
            throw WorkloadError("not valid JSON")
        }
        guard let o = obj as? [String: Any] else { throw WorkloadError("not a JSON object") }
        guard let op = o["op"] as? String else { throw WorkloadError("missing \"op\" (write or forget)") }
        func string(_ k: String, required: Bool) throws -> String? {
            guard let v = o[k] else {
                if required { throw WorkloadError("missing \"\(k)\"") }
                return nil
            }
            guard let s = v as? String else { throw WorkloadError("\"\(k)\" must be a string") }
            return s
        }
        switch op {
        case "forget":
            let known: Set<String> = ["op", "id"]
            if let extra = o.keys.first(where: { !known.contains($0) }) { throw WorkloadError("unknown key \"\(extra)\"") }
            return .forget(try string("id", required: true)!)
        case "write":
            let known: Set<String> = ["op", "id", "goal", "plugin", "content", "concepts", "depends_on", "metadata", "ttl_ms"]
            if let extra = o.keys.first(where: { !known.contains($0) }) { throw WorkloadError("unknown key \"\(extra)\"") }
            let goal = try string("goal", required: true)!
            let plugin = try string("plugin", required: false) ?? "replay"
            let content = try string("content", required: false) ?? ""
            var concepts: [String] = []
            if let c = o["concepts"] {
                guard let list = c as? [Any], let strings = list as? [String], strings.count == list.count else {
                    throw WorkloadError("\"concepts\" must be an array of strings")
                }
                concepts = strings
            }
            var deps: [Dependency] = []
            if let d = o["depends_on"] {
                guard let list = d as? [Any] else { throw WorkloadError("\"depends_on\" must be an array of [from, to] pairs") }
                for (i, item) in list.enumerated() {
                    guard let pair = item as? [Any], pair.count == 2, let a = pair[0] as? String, let b = pair[1] as? String else {
                        throw WorkloadError("depends_on[\(i)] must be a pair of strings [from, to]")
                    }
                    deps.append(Dependency(a, b))
                }
            }
            var metadata: String?
            if let m = o["metadata"], !(m is NSNull) {
                guard m is [String: Any], let md = try? JSONSerialization.data(withJSONObject: m, options: [.sortedKeys]) else {
                    throw WorkloadError("\"metadata\" must be a JSON object")
                }
                metadata = String(decoding: md, as: UTF8.self)
            }
            var ttl: Int64?
            if let t = o["ttl_ms"] {
                guard let n = t as? NSNumber, n.int64Value >= 0 else { throw WorkloadError("\"ttl_ms\" must be a non-negative integer") }
                ttl = n.int64Value
            }
            return .write(MemoryWrite(
                goal: goal, plugin: plugin, id: try string("id", required: false), content: content,
                concepts: concepts, dependsOn: deps, metadata: metadata, ttlMilliseconds: ttl))
        default:
            throw WorkloadError("unknown op \(op.debugDescription) (expected write or forget)")
        }
    }

    /// The JSONL line of this operation.
    public var jsonLine: String {
        switch self {
        case .forget(let id):
            return "{\"op\":\"forget\",\"id\":\(Self.quote(id))}"
        case .write(let w):
            var s = "{\"op\":\"write\""
            if let id = w.id { s += ",\"id\":\(Self.quote(id))" }
            s += ",\"goal\":\(Self.quote(w.goal)),\"plugin\":\(Self.quote(w.plugin)),\"content\":\(Self.quote(w.content))"
            s += ",\"concepts\":[\(w.concepts.map(Self.quote).joined(separator: ","))]"
            if !w.dependsOn.isEmpty {
                s += ",\"depends_on\":[\(w.dependsOn.map { "[\(Self.quote($0.from)),\(Self.quote($0.to))]" }.joined(separator: ","))]"
            }
            if let m = w.metadata { s += ",\"metadata\":\(m)" }
            if let t = w.ttlMilliseconds { s += ",\"ttl_ms\":\(t)" }
            return s + "}"
        }
    }

    private static func quote(_ s: String) -> String {
        var out = ""
        CanonicalClusters.appendString(s, to: &out)
        return out
    }
}

/// A malformed workload line.
public struct WorkloadError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public let message: String
    /// The 1-based line number, once known.
    public var line: Int?
    /// The file, once known.
    public var file: String?
    init(_ message: String) { self.message = message }
    public var description: String {
        "\(file.map { "\($0):" } ?? "")\(line.map { "\($0): " } ?? "")\(message)"
    }
}
