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
        var h = MemorySHA256()
        func field(_ s: String) {
            let n = UInt32(truncatingIfNeeded: s.utf8.count)
            h.update([UInt8(n >> 24), UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8), UInt8(truncatingIfNeeded: n)])
            h.update(s)
        }
        func count(_ n: Int) {
            let n = UInt32(truncatingIfNeeded: n)
            h.update([UInt8(n >> 24), UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8), UInt8(truncatingIfNeeded: n)])
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
            h.update([1])
            field(m)
        } else {
            h.update([0])
        }
        bytes = h.finalize()
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

extension Memory {
    /// Its dependency pairs sorted by (`from`, `to`) in UTF-8 byte order (their order in a
    /// write does not matter; their direction does).
    package var sortedDependencies: [Dependency] {
        dependsOn.count < 2
            ? dependsOn
            : dependsOn.sorted { $0.from != $1.from ? ConceptKey.precedes($0.from, $1.from) : ConceptKey.precedes($0.to, $1.to) }
    }

    /// Its metadata in canonical form (``JSONValue/canonical``): the metadata written through
    /// the plugin host API is stored as given, so two spellings of one JSON object compare
    /// equal only in this form. Text that does not parse (never stored by the write path)
    /// stays as it is.
    package var canonicalMetadata: String? {
        guard let m = metadata else { return nil }
        return (try? JSONReader.parse(m))?.canonical ?? m
    }

    /// True when `other` is the same memory for a write without a caller-given id: the same
    /// goal, plugin, content, concept set (normalised keys), dependencies (normalised pairs,
    /// in any order) and metadata (canonical form). Ids, times and TTLs are not compared.
    ///
    /// Text is compared byte for byte (UTF-8), not by Swift's canonical equivalence: `"é"` and
    /// `"e\u{301}"` are different contents, as they are different digests.
    package func hasSameContent(as other: Memory) -> Bool {
        func same(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }
        func same(_ a: String?, _ b: String?) -> Bool {
            switch (a, b) {
            case (nil, nil): true
            case (let x?, let y?): same(x, y)
            default: false
            }
        }
        func same(_ a: [Dependency], _ b: [Dependency]) -> Bool {
            a.count == b.count && zip(a, b).allSatisfy { same($0.from, $1.from) && same($0.to, $1.to) }
        }
        return same(goal, other.goal) && same(plugin, other.plugin) && same(content, other.content)
            && concepts.count == other.concepts.count && zip(concepts, other.concepts).allSatisfy(same)
            && (same(dependsOn, other.dependsOn) || same(sortedDependencies, other.sortedDependencies))
            && (same(metadata, other.metadata) || same(canonicalMetadata, other.canonicalMetadata))
    }
}

extension Memory {
    /// A hash of the fields ``hasSameContent(as:)`` compares, but metadata (which would need
    /// parsing): equal for memories of the same content, within one process.
    package var contentHashValue: Int {
        var h = Hasher()
        h.combine(goal)
        h.combine(plugin)
        h.combine(content)
        h.combine(concepts)
        if dependsOn.count < 2 {
            h.combine(dependsOn)
        } else {
            h.combine(sortedDependencies)
        }
        return h.finalize()
    }
}
