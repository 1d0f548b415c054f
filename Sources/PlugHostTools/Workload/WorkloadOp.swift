import Foundation
import PlugHost
import PlugHostPostgres

/// One operation of a replayable workload (`plughost memory replay`).
package enum WorkloadOp: Sendable, Hashable {
    /// Write a memory.
    case write(MemoryWrite)
    /// Forget a memory by id.
    case forget(String)

    /// Parses one JSONL line: `{"op":"write","id":…,"goal":…,"plugin":…,"content":…,
    /// "concepts":[…],"depends_on":[[a,b],…],"metadata":{…},"ttl_ms":…}` or
    /// `{"op":"forget","id":…}`. Errors name the field and what it holds.
    ///
    /// `metadata` is kept in its canonical form (``JSONTree/canonical``: no white space, keys
    /// sorted by UTF-8 bytes, numbers as written), so that a line written by
    /// `plughost memory export` gives back the same metadata bytes. `ttl_ms` must be an integer
    /// literal (no fraction, no exponent) from 0 to 2^63−1.
    package static func parse(_ line: Substring) throws -> WorkloadOp {
        var copy = String(line)
        return try copy.withUTF8 { try parse(bytes: $0) }
    }

    /// ``parse(_:)`` over the UTF-8 bytes of one line.
    static func parse(bytes: UnsafeBufferPointer<UInt8>) throws -> WorkloadOp {
        let tree: JSONTree
        do {
            tree = try JSONTree.parse(bytes: bytes)
        } catch let e as JSONTree.SyntaxError {
            throw WorkloadError("not valid JSON: \(e)")
        }
        guard case .object(let members) = tree else { throw WorkloadError("not a JSON object (the line holds \(tree.kind))") }
        var o: [String: JSONTree] = [:]
        for m in members {
            guard o.updateValue(m.value, forKey: m.key) == nil else { throw WorkloadError("the key \(m.key.debugDescription) appears twice") }
        }
        guard let opValue = o["op"] else { throw WorkloadError("missing \"op\" (write or forget)") }
        guard case .string(let op) = opValue else { throw WorkloadError("\"op\" must be a string (write or forget), not \(opValue.kind)") }
        func string(_ k: String, required: Bool) throws -> String? {
            guard let v = o[k] else {
                if required { throw WorkloadError("missing \"\(k)\"") }
                return nil
            }
            guard case .string(let s) = v else { throw WorkloadError("\"\(k)\" must be a string, not \(v.kind)") }
            return s
        }
        func unknownKeys(_ known: Set<String>) throws {
            // The first unknown key in the order written.
            if let extra = members.first(where: { !known.contains($0.key) }) { throw WorkloadError("unknown key \(extra.key.debugDescription)") }
        }
        switch op {
        case "forget":
            try unknownKeys(["op", "id"])
            return .forget(try string("id", required: true)!)
        case "write":
            try unknownKeys(["op", "id", "goal", "plugin", "content", "concepts", "depends_on", "metadata", "ttl_ms"])
            let goal = try string("goal", required: true)!
            let plugin = try string("plugin", required: false) ?? "replay"
            let content = try string("content", required: false) ?? ""
            var concepts: [String] = []
            if let c = o["concepts"] {
                guard case .array(let list) = c else { throw WorkloadError("\"concepts\" must be an array of strings, not \(c.kind)") }
                concepts.reserveCapacity(list.count)
                for (i, item) in list.enumerated() {
                    guard case .string(let s) = item else {
                        throw WorkloadError("\"concepts\" must be an array of strings: concepts[\(i)] is \(item.kind)")
                    }
                    concepts.append(s)
                }
            }
            var deps: [Dependency] = []
            if let d = o["depends_on"] {
                guard case .array(let list) = d else { throw WorkloadError("\"depends_on\" must be an array of [from, to] pairs, not \(d.kind)") }
                for (i, item) in list.enumerated() {
                    guard case .array(let pair) = item, pair.count == 2, case .string(let a) = pair[0], case .string(let b) = pair[1] else {
                        throw WorkloadError("depends_on[\(i)] must be a pair of strings [from, to]")
                    }
                    deps.append(Dependency(a, b))
                }
            }
            var metadata: String?
            if let m = o["metadata"] {
                switch m {
                case .null: break
                case .object: metadata = m.canonical
                default: throw WorkloadError("\"metadata\" must be a JSON object, not \(m.kind)")
                }
            }
            var ttl: Int64?
            if let t = o["ttl_ms"] { ttl = try ttlMilliseconds(t) }
            return .write(MemoryWrite(
                goal: goal, plugin: plugin, id: try string("id", required: false), content: content,
                concepts: concepts, dependsOn: deps, metadata: metadata, ttlMilliseconds: ttl))
        default:
            throw WorkloadError("unknown op \(op.debugDescription) (expected write or forget)")
        }
    }

    /// `ttl_ms`: an integer literal from 0 to Int64.max (`true`, `1.9`, `-0.5`, `"5"` are not).
    private static func ttlMilliseconds(_ t: JSONTree) throws -> Int64 {
        let rule = "\"ttl_ms\" must be a non-negative integer of milliseconds (0 = forever)"
        guard case .number(let literal) = t else { throw WorkloadError("\(rule), not \(t.kind)") }
        guard !literal.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) else {
            throw WorkloadError("\(rule) without a fraction or exponent, not \(literal)")
        }
        if literal.hasPrefix("-") {
            guard literal == "-0" else { throw WorkloadError("\(rule), not \(literal)") }
            return 0
        }
        guard let v = Int64(literal) else { throw WorkloadError("\(rule): \(literal) is over the largest, \(Int64.max)") }
        return v
    }

    /// The JSONL line of this operation.
    package var jsonLine: String {
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
package struct WorkloadError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    package let message: String
    /// The 1-based line number, once known.
    package var line: Int?
    /// The file, once known.
    package var file: String?
    init(_ message: String) { self.message = message }
    package var description: String {
        "\(file.map { "\($0):" } ?? "")\(line.map { "\($0): " } ?? "")\(message)"
    }
}
