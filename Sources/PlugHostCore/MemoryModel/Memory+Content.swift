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
