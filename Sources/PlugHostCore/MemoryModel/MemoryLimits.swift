/// The documented limits of one memory write. A write over any of them is rejected whole.
public struct MemoryLimits: Sendable, Hashable {
    /// Most concepts in one write (before adding dependency ends).
    public var maxConcepts: Int = 64
    /// Most `depends_on` pairs in one write.
    public var maxDependencies: Int = 64
    /// Longest concept key, in UTF-8 bytes after normalisation.
    public var maxKeyBytes: Int = 256
    /// Longest content, in UTF-8 bytes.
    public var maxContentBytes: Int = 1 << 20
    /// Longest caller-given id, in UTF-8 bytes.
    public var maxIdBytes: Int = 127
    /// Longest metadata text, in UTF-8 bytes.
    public var maxMetadataBytes: Int = 64 << 10
    /// The defaults.
    /// Most UTF-8 bytes of one goal-context value (context_set).
    public var maxContextValueBytes: Int = 1 << 20
    public static let `default` = MemoryLimits()
    /// Creates the default limits.
    public init() {}
}

extension MemoryLimits {
    // The one place where the limits are checked and their errors worded: the write
    // normaliser and the C host API's early checks (before it reads a plugin's arrays) both
    // call these.

    /// Rejects more than ``maxConcepts`` concepts.
    package func check(concepts count: Int) throws {
        guard count <= maxConcepts else { throw MemoryError(.limit, "\(count) concepts, over the limit of \(maxConcepts)") }
    }

    /// Rejects more than ``maxDependencies`` `depends_on` pairs.
    package func check(dependencies count: Int) throws {
        guard count <= maxDependencies else {
            throw MemoryError(.limit, "\(count) depends_on pairs, over the limit of \(maxDependencies)")
        }
    }

    /// Rejects a caller-given id longer than ``maxIdBytes``.
    package func check(id: String) throws {
        let n = id.utf8.count
        guard n <= maxIdBytes else { throw MemoryError(.limit, "id is \(n) bytes, over the limit of \(maxIdBytes)") }
    }

    /// Rejects content longer than ``maxContentBytes``.
    package func check(content: String) throws {
        let n = content.utf8.count
        guard n <= maxContentBytes else { throw MemoryError(.limit, "content is \(n) bytes, over the limit of \(maxContentBytes)") }
    }

    /// Rejects metadata longer than ``maxMetadataBytes``.
    package func check(metadata: String) throws {
        let n = metadata.utf8.count
        guard n <= maxMetadataBytes else { throw MemoryError(.limit, "metadata is \(n) bytes, over the limit of \(maxMetadataBytes)") }
    }

    /// Rejects a normalised concept key longer than ``maxKeyBytes``; `field` names it.
    package func check(contextValue bytes: Int) throws {
        guard bytes <= maxContextValueBytes else {
            throw MemoryError(.limit, "context value is \(bytes) bytes, over the limit of \(maxContextValueBytes)")
        }
    }

    package func check(key: String, field: @autoclosure () -> String) throws {
        let n = key.utf8.count
        guard n <= maxKeyBytes else {
            throw MemoryError(.limit, "\(field()) is \(n) bytes after normalisation, over the limit of \(maxKeyBytes)")
        }
    }
}
