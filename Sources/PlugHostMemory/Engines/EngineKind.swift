/// The name of a memory engine, as `--engine` and the embedding configuration's `engine` key say
/// it. Each engine's target declares its own name (``EngineKind/memory`` here; `sqlite` and
/// `postgres` in their targets) and registers an ``EngineProvider`` under it.
public struct EngineKind: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The name.
    public let rawValue: String
    /// An engine name.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// An engine name.
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }
    public static func < (a: EngineKind, b: EngineKind) -> Bool { a.rawValue < b.rawValue }

    /// In-process dictionaries; nothing survives the process.
    public static let memory: EngineKind = "memory"
}
