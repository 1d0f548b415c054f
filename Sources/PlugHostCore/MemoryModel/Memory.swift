/// A stored memory: a normalised, accepted write.
public struct Memory: Sendable, Hashable {
    /// Its id, unique across goals.
    public var id: String
    /// The goal it belongs to.
    public var goal: String
    /// The plugin that wrote it.
    public var plugin: String
    /// UTF-8 text.
    public var content: String
    /// Its concept set: normalised keys of its concepts and of both ends of its dependencies,
    /// unique, sorted in UTF-8 byte order.
    public var concepts: [String]
    /// Its normalised dependencies (pairs with two equal ends dropped), unique.
    public var dependsOn: [Dependency]
    /// Optional JSON object text.
    public var metadata: String?
    /// Seconds since 1970 when it was written.
    public var createdAt: Double
    /// Seconds since 1970 when it expires, or nil.
    public var expiresAt: Double?

    /// Creates a memory.
    public init(
        id: String, goal: String, plugin: String, content: String, concepts: [String],
        dependsOn: [Dependency], metadata: String?, createdAt: Double, expiresAt: Double?
    ) {
        self.id = id
        self.goal = goal
        self.plugin = plugin
        self.content = content
        self.concepts = concepts
        self.dependsOn = dependsOn
        self.metadata = metadata
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// A memory returned by a recall, with its relevance.
public struct RecalledMemory: Sendable, Hashable {
    /// The memory.
    public var memory: Memory
    /// Relevance for text recall (higher is better); 0 for other queries.
    public var score: Double
    /// Creates a result.
    public init(memory: Memory, score: Double) {
        self.memory = memory
        self.score = score
    }
}

/// What a recall looks for, within one goal.
public enum RecallQuery: Sendable, Hashable {
    /// Memories holding this concept (normalised before lookup), newest first.
    case concept(String)
    /// Memories holding any concept of this concept's cluster (the concept normalised first),
    /// newest first: recall by concept widened to the concept's cluster.
    case related(String)
    /// Memories whose content matches these words, best first.
    case text(String)
    /// Memories written by this plugin, newest first.
    case plugin(String)
}
