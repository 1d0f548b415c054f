/// A concept `from` that depends on a concept `to`.
public struct Dependency: Sendable, Hashable, Codable {
    /// The dependent concept.
    public var from: String
    /// The concept depended on.
    public var to: String
    /// Creates a pair.
    public init(_ from: String, _ to: String) {
        self.from = from
        self.to = to
    }
}

/// A memory as a plugin (or an embedding agent) asks to write it, before normalisation.
public struct MemoryWrite: Sendable, Hashable {
    /// The goal the memory belongs to.
    public var goal: String
    /// The plugin that writes it.
    public var plugin: String
    /// A caller-given id, or nil for one assigned by the host.
    public var id: String?
    /// UTF-8 text.
    public var content: String
    /// Concepts as given; normalised to keys by the write path.
    public var concepts: [String]
    /// `depends_on` pairs as given.
    public var dependsOn: [Dependency]
    /// Optional JSON object text.
    public var metadata: String?
    /// Time to live in milliseconds; nil or 0 for forever.
    public var ttlMilliseconds: Int64?

    /// Creates a write.
    public init(
        goal: String, plugin: String, id: String? = nil, content: String,
        concepts: [String] = [], dependsOn: [Dependency] = [], metadata: String? = nil,
        ttlMilliseconds: Int64? = nil
    ) {
        self.goal = goal
        self.plugin = plugin
        self.id = id
        self.content = content
        self.concepts = concepts
        self.dependsOn = dependsOn
        self.metadata = metadata
        self.ttlMilliseconds = ttlMilliseconds
    }
}
