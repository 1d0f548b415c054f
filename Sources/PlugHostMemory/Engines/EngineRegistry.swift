import PlugHostCore
import Synchronization

/// The engines this process can open, by name. Engines register themselves: an engine's target
/// offers an ``EngineProvider`` and the program that links it registers it once at start-up
/// (`EngineRegistry.register(PostgresEngine.provider)`). The in-memory engine is always there.
public enum EngineRegistry {
    private static let providers = Mutex<[EngineKind: EngineProvider]>([.memory: InMemoryEngine.provider])
    private static let absent = Mutex<[EngineKind: String]>([:])

    /// Registers (or replaces) the provider of `provider.kind`.
    public static func register(_ provider: EngineProvider) {
        providers.withLock { $0[provider.kind] = provider }
    }

    /// Registers `provider` unless its kind has one already (how a library registers its
    /// built-in engines without replacing one the program registered first).
    public static func registerIfAbsent(_ provider: EngineProvider) {
        providers.withLock { if $0[provider.kind] == nil { $0[provider.kind] = provider } }
    }

    /// Notes an engine this build leaves out on purpose, with how to get it: asking for it then
    /// says so instead of calling the name unknown.
    package static func noteAbsent(_ kind: EngineKind, _ howToGetIt: String) {
        absent.withLock { $0[kind] = howToGetIt }
    }

    /// The registered engine names, sorted.
    public static var kinds: [EngineKind] { providers.withLock { $0.keys.sorted() } }

    /// The provider of `kind`, or an error naming the registered engines.
    public static func provider(_ kind: EngineKind) throws -> EngineProvider {
        if let p = providers.withLock({ $0[kind] }) { return p }
        if let how = absent.withLock({ $0[kind] }) {
            throw MemoryError(
                .invalid,
                "the \(kind.rawValue) engine is not in this build: \(how); this build has \(kinds.map(\.rawValue).joined(separator: ", "))")
        }
        throw MemoryError(
            .invalid, "unknown engine \(kind.rawValue.debugDescription); use one of \(kinds.map(\.rawValue).joined(separator: ", "))")
    }

    /// Opens an engine of `kind` at `location` (nil for its default).
    public static func open(_ kind: EngineKind, location: String? = nil, readOnly: Bool = false) throws -> any MemoryEngine {
        let p = try provider(kind)
        try p.checkLocation(location)
        return try p.open(location, readOnly)
    }
}
