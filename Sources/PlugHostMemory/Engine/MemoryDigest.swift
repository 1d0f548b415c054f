import Crypto
import PlugHostCore

/// The content digest of a memory: the SHA-256 of what makes two memories the same memory for
/// a write without a caller-given id (see ``Memory/hasSameContent(as:)``): its goal, plugin,
/// content, concept set, dependency pairs (sorted) and metadata in canonical form. Its id, its
/// times and its TTL are not part of it.
///
/// Durable engines store it with each memory (a stored format: the encoding below never
/// changes): each field is a 4-byte big-endian length and its UTF-8 bytes, in the order tag
/// `plughost-memory-content-1`, goal, plugin, content; then the number of concepts (4 bytes)
/// and each concept; the number of dependencies and each pair's `from` and `to`, pairs sorted
/// by (`from`, `to`) in UTF-8 byte order; then `0` for no metadata or `1` and its canonical
/// text.
package struct MemoryDigest: Hashable, Sendable {
    /// The 32 bytes.
    package let bytes: [UInt8]

    /// Wraps stored bytes.
    package init(bytes: [UInt8]) { self.bytes = bytes }

    /// The digest of `memory`.
    package init(of memory: Memory) {
        var h = SHA256()
        func count(_ n: Int) {
            let n = UInt32(truncatingIfNeeded: n)
            h.update(data: [
                UInt8(n >> 24), UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8), UInt8(truncatingIfNeeded: n),
            ])
        }
        func field(_ s: String) {
            count(s.utf8.count)
            h.update(data: Array(s.utf8))
        }
        field("plughost-memory-content-1")
        field(memory.goal)
        field(memory.plugin)
        field(memory.content)
        count(memory.concepts.count)
        for c in memory.concepts { field(c) }
        let deps = memory.sortedDependencies
        count(deps.count)
        for d in deps {
            field(d.from)
            field(d.to)
        }
        if let m = memory.canonicalMetadata {
            h.update(data: [UInt8(1)])
            field(m)
        } else {
            h.update(data: [UInt8(0)])
        }
        bytes = Array(h.finalize())
    }

    /// Lower-case hex.
    package var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
