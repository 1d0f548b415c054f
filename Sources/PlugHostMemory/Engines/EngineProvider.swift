import PlugHostCore

/// How to open one kind of engine: what an engine's target registers with ``EngineRegistry``.
public struct EngineProvider: Sendable {
    /// The engine's name.
    public let kind: EngineKind
    /// One line for help texts: what the engine is and what its location is.
    public let summary: String
    /// Checks a location before anything is opened (a configuration check); throws a
    /// ``MemoryError`` saying what is wrong with it. Nil means the engine's default location.
    public let checkLocation: @Sendable (_ location: String?) throws -> Void
    /// The location as stats may show it (a password redacted), or nil when the engine has none.
    public let describeLocation: @Sendable (_ location: String?) -> String?
    /// Opens the engine at a location (nil for its default); with `readOnly` nothing may be
    /// created or written.
    public let open: @Sendable (_ location: String?, _ readOnly: Bool) throws -> any MemoryEngine

    /// An engine provider.
    public init(
        kind: EngineKind, summary: String,
        checkLocation: @escaping @Sendable (String?) throws -> Void = { _ in },
        describeLocation: @escaping @Sendable (String?) -> String? = { $0 },
        open: @escaping @Sendable (String?, Bool) throws -> any MemoryEngine
    ) {
        self.kind = kind
        self.summary = summary
        self.checkLocation = checkLocation
        self.describeLocation = describeLocation
        self.open = open
    }
}

extension InMemoryEngine {
    /// The in-memory engine's provider (registered from the start).
    public static let provider = EngineProvider(
        kind: .memory, summary: "memory: in-process; nothing survives the process",
        describeLocation: { _ in nil },
        open: { _, _ in InMemoryEngine() }
    )
}
