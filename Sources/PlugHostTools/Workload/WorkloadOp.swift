import Foundation
import PlugHost
import PlugHostPostgres

/// One operation of a replayable workload (`plughost memory replay`).
package enum WorkloadOp: Sendable, Hashable {
    /// Write a memory.
    case write(MemoryWrite)
    /// Forget a memory by id.
    case forget(String)

    /// Parses one JSONL line: `{"op":"write", …}` with the members of a memory write
    /// (``MemoryWriteJSON``: `id`, `goal`, `plugin`, `content`, `concepts`, `depends_on`,
    /// `metadata`, `ttl_ms`), or `{"op":"forget","id":…}`. Errors name the field and what it
    /// holds.
    ///
    /// `metadata` is kept in its canonical form (``JSONValue/canonical``: no white space, keys
    /// sorted by UTF-8 bytes, numbers as written), so that a line written by
    /// `plughost memory export` gives back the same metadata bytes. `ttl_ms` must be an integer
    /// literal (no fraction, no exponent) from 0 to 2^63−1.
    package static func parse(_ line: Substring) throws -> WorkloadOp {
        var copy = String(line)
        return try copy.withUTF8 { try parse(bytes: $0) }
    }

    /// ``parse(_:)`` over the UTF-8 bytes of one line.
    static func parse(bytes: UnsafeBufferPointer<UInt8>) throws -> WorkloadOp {
        let tree: JSONValue
        do {
            tree = try JSONReader.parse(bytes: bytes)
        } catch let e as JSONReader.SyntaxError {
            throw WorkloadError("not valid JSON: \(e)")
        }
        guard case .object(let members) = tree else { throw WorkloadError("not a JSON object (the line holds \(tree.kind))") }
        do {
            let o = try JSONValue.uniqueMembers(members)
            guard let opValue = o["op"] else { throw WorkloadError("missing \"op\" (write or forget)") }
            guard case .string(let op) = opValue else {
                throw WorkloadError("\"op\" must be a string (write or forget), not \(opValue.kind)")
            }
            switch op {
            case "forget":
                // The first unknown key in the order written.
                if let extra = members.first(where: { $0.key != "op" && $0.key != "id" }) {
                    throw WorkloadError("unknown key \(extra.key.debugDescription) (known: op, id)")
                }
                guard let idValue = o["id"] else { throw WorkloadError("missing \"id\"") }
                guard case .string(let id) = idValue else { throw WorkloadError("\"id\" must be a string, not \(idValue.kind)") }
                return .forget(id)
            case "write":
                return .write(try MemoryWriteJSON.decode(members, byKey: o, otherKeys: ["op"]))
            default:
                throw WorkloadError("unknown op \(op.debugDescription) (expected write or forget)")
            }
        } catch let e as JSONSchemaError {
            throw WorkloadError(e.message)
        }
    }

    /// The JSONL line of this operation.
    package var jsonLine: String {
        var out = JSONWriter()
        out.beginObject()
        switch self {
        case .forget(let id):
            out.key("op"); out.string("forget")
            out.key("id"); out.string(id)
        case .write(let w):
            out.key("op"); out.string("write")
            MemoryWriteJSON.encodeMembers(w, into: &out)
        }
        out.endObject()
        return out.text
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
