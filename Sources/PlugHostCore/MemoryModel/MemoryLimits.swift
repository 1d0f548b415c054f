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
    public static let `default` = MemoryLimits()
    /// Creates the default limits.
    public init() {}
}
