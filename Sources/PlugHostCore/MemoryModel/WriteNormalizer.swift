import Foundation

/// Turns a `MemoryWrite` into a `Memory`, or rejects it whole with an error naming the field.
package struct WriteNormalizer: Sendable {
    let limits: MemoryLimits

    package init(limits: MemoryLimits) { self.limits = limits }

    /// Whether `s` holds U+0000 (memchr over the contiguous UTF-8 of a native string).
    @inline(__always)
    static func hasNUL(_ s: String) -> Bool {
        s.utf8.withContiguousStorageIfAvailable { b in
            b.count > 0 && memchr(b.baseAddress!, 0, b.count) != nil
        } ?? s.utf8.contains(0)
    }

    package func normalize(_ w: MemoryWrite, id: String, now: Double) throws -> Memory {
        guard !w.goal.isEmpty else { throw MemoryError(.invalid, "goal is empty") }
        guard !w.plugin.isEmpty else { throw MemoryError(.invalid, "plugin is empty") }
        if let given = w.id {
            guard !given.isEmpty else { throw MemoryError(.invalid, "id is empty") }
            try limits.check(id: given)
        }
        try limits.check(content: w.content)
        try limits.check(concepts: w.concepts.count)
        try limits.check(dependencies: w.dependsOn.count)
        if let m = w.metadata {
            try limits.check(metadata: m)
            guard case .object? = try? JSONReader.parse(m) else {
                throw MemoryError(.invalid, "metadata is not a JSON object")
            }
        }
        // Text storage (PostgreSQL) cannot hold U+0000, and C plugins could never see past one.
        func noNUL(_ s: String, _ field: String) throws {
            guard !Self.hasNUL(s) else { throw MemoryError(.invalid, "\(field) contains a NUL character (U+0000)") }
        }
        try noNUL(w.goal, "goal")
        try noNUL(w.plugin, "plugin")
        if let given = w.id { try noNUL(given, "id") }
        try noNUL(w.content, "content")
        if let m = w.metadata { try noNUL(m, "metadata") }
        if let ttl = w.ttlMilliseconds, ttl < 0 {
            throw MemoryError(.invalid, "ttl is negative (\(ttl) ms)")
        }
        // Field names are built only for an error message.
        func key(_ raw: String, _ field: @autoclosure () -> String) throws -> String {
            let k = ConceptKey.normalize(raw)
            guard !k.isEmpty else { throw MemoryError(.invalid, "\(field()) \(raw.debugDescription) is empty after normalisation") }
            guard !Self.hasNUL(k) else { throw MemoryError(.invalid, "\(field()) contains a NUL character (U+0000)") }
            try limits.check(key: k, field: field())
            return k
        }
        // The concept set: keys sorted in UTF-8 byte order, duplicates dropped (a sort of a few
        // keys and one pass, rather than a hash set).
        var keys: [String] = []
        keys.reserveCapacity(w.concepts.count + 2 * w.dependsOn.count)
        for (i, c) in w.concepts.enumerated() { keys.append(try key(c, "concepts[\(i)]")) }
        var deps: [Dependency] = []
        deps.reserveCapacity(w.dependsOn.count)
        var seenDeps = Set<Dependency>()  // only for many pairs; a few are compared directly
        for (i, d) in w.dependsOn.enumerated() {
            let from = try key(d.from, "depends_on[\(i)].from")
            let to = try key(d.to, "depends_on[\(i)].to")
            guard from != to else { continue }
            keys.append(from)
            keys.append(to)
            let dep = Dependency(from, to)
            if w.dependsOn.count > 8 ? seenDeps.insert(dep).inserted : !deps.contains(dep) { deps.append(dep) }
        }
        if keys.count <= 8 {  // insertion sort: a write has a few keys
            for i in keys.indices.dropFirst() {
                var j = i
                while j > 0 && ConceptKey.precedes(keys[j], keys[j - 1]) {
                    keys.swapAt(j, j - 1)
                    j -= 1
                }
            }
        } else {
            keys.sort(by: ConceptKey.precedes)
        }
        if keys.count > 1 {  // drop duplicates in place (they are adjacent now)
            var kept = 1
            for i in 1..<keys.count where keys[i] != keys[kept - 1] {
                if i != kept { keys.swapAt(i, kept) }
                kept += 1
            }
            keys.removeLast(keys.count - kept)
        }
        let concepts = keys
        let expires = w.ttlMilliseconds.flatMap { $0 > 0 ? now + Double($0) / 1000 : nil }
        return Memory(
            id: id, goal: w.goal, plugin: w.plugin, content: w.content, concepts: concepts,
            dependsOn: deps, metadata: w.metadata, createdAt: now, expiresAt: expires)
    }
}
