import Foundation

/// Everything ``PlugHostRuntime/open(_:)`` needs: the memory engine and where it keeps its
/// data, the write path's settings, and where plugins are looked for.
///
/// The defaults are the CLI's: the durable SQLite engine at `memory.sqlite` of ``MemoryHome`` (the nearest `.plughost/` up from the
/// working directory, else the per-user store), the optimized write path, a 50-context cache with a 2-hour TTL,
/// clustering after 10 writes or 5 seconds, and θ = 2 unless the memory stores another.
///
/// As JSON (the C API's `plughost_create` takes this), every key is optional and unknown keys
/// are an error:
///
/// ```json
/// {"engine": "sqlite", "database_path": "/tmp/agent.sqlite", "baseline": false,
///  "plugin_directories": ["/opt/plugins"], "cache_capacity": 50, "cache_ttl": 7200,
///  "clustering_threshold": 10, "clustering_timeout": 5, "theta": 2,
///  "isolation": "process", "call_timeout": 30, "memory_limit_mb": 4096,
///  "allow_write": ["/tmp/agent-work"], "allow_read": ["/data"], "allow_network": false}
/// ```
public struct HostConfiguration: Sendable, Codable, Hashable {
    /// The memory engine: ``EngineKind/sqlite`` (durable, the default), ``EngineKind/memory``
    /// (nothing survives the process), or `postgres` (one memory shared by many hosts) once
    /// the product `PlugHostPostgres` is linked and `PostgresEngine.register()` was called.
    public var engine: EngineKind
    /// The SQLite database file (nil for ``MemoryHome``: the nearest `.plughost/memory.sqlite`, else the per-user store),
    /// or the PostgreSQL URL `postgres://USER[:PASSWORD]@HOST[:PORT]/DB` (`PLUGHOST_DB` when
    /// nil). Ignored by the memory engine.
    public var databasePath: String?
    /// True for the eager baseline write path (context cache, batching and lazy clustering
    /// off); it gives the same clusters, slower. For comparisons and tests.
    public var baseline: Bool
    /// Folders searched for plugins loaded by bare name, in order, before the folders of the
    /// `PLUGHOST_PLUGIN_PATH` environment variable and the folder of the running executable.
    public var pluginDirectories: [String]
    /// Capacity of the per-(goal, plugin) context cache, in contexts (at least 1).
    public var cacheCapacity: Int
    /// Time to live of a cached context, in seconds (more than 0).
    public var cacheTTL: Double
    /// Writes of a goal after which its clustering runs (at least 1).
    public var clusteringThreshold: Int
    /// Age in seconds of a goal's oldest unclustered write after which its clustering runs
    /// (more than 0).
    public var clusteringTimeout: Double
    /// `θ`: concepts `a` and `b` are linked when at least `theta` live memories hold both, or
    /// one memory declares a dependency between them (at least 1). nil: the θ stored with the
    /// memory, else 2. θ is stored with the memory by the first host that opens it; opening a
    /// memory stored with another θ than a given one fails, naming both.
    public var theta: Int32?
    /// Where plugin code runs; nil: `in-process` for the bundled plugins, `process` (a
    /// supervised worker per plugin) for every other.
    public var isolation: Isolation?
    /// Seconds one call (or a load) may take in `process` isolation before its worker is
    /// killed; 0: no limit.
    public var callTimeout: Double
    /// A plugin worker's address space in MiB (RLIMIT_AS); 0: no limit.
    public var memoryLimitMB: UInt64
    /// Folders plugin workers may write under; everything else is read-only to them.
    public var allowWrite: [String]
    /// Folders plugin workers may read beyond the system's and their plugin's own.
    public var allowRead: [String]
    /// Whether plugin workers may open TCP connections and listen.
    public var allowNetwork: Bool

    /// A configuration; every argument defaults to the CLI's default.
    public init(
        engine: EngineKind = .sqlite, databasePath: String? = nil, baseline: Bool = false,
        pluginDirectories: [String] = [], cacheCapacity: Int = 50, cacheTTL: Double = 2 * 3600,
        clusteringThreshold: Int = 10, clusteringTimeout: Double = 5, theta: Int32? = nil,
        isolation: Isolation? = nil, callTimeout: Double = 30, memoryLimitMB: UInt64 = PluginLimits.default.memoryBytes >> 20,
        allowWrite: [String] = [], allowRead: [String] = [], allowNetwork: Bool = false
    ) {
        self.allowRead = allowRead
        self.isolation = isolation
        self.callTimeout = callTimeout
        self.memoryLimitMB = memoryLimitMB
        self.allowWrite = allowWrite
        self.allowNetwork = allowNetwork
        self.engine = engine
        self.databasePath = databasePath
        self.baseline = baseline
        self.pluginDirectories = pluginDirectories
        self.cacheCapacity = cacheCapacity
        self.cacheTTL = cacheTTL
        self.clusteringThreshold = clusteringThreshold
        self.clusteringTimeout = clusteringTimeout
        self.theta = theta
    }

    /// Parses a configuration from JSON text (see the type's documentation for the keys).
    ///
    /// - Throws: ``EmbeddingError`` with code ``EmbeddingError/Code/invalidConfiguration``
    ///   naming the offending key, when the text is not a JSON object, a key is unknown, a
    ///   value has the wrong type, or a value is out of range.
    public init(json: String) throws {
        let data = Data(json.utf8)
        // The one reader checks the text (strictly, a key given twice included); the
        // decoder then maps the keys.
        do {
            _ = try JSONReader.object(json, what: "configuration")
        } catch {
            throw EmbeddingError(.invalidConfiguration, error.message)
        }
        do {
            self = try JSONDecoder().decode(HostConfiguration.self, from: data)
        } catch let e as EmbeddingError {
            throw e
        } catch let DecodingError.typeMismatch(type, context) {
            throw EmbeddingError(.invalidConfiguration, "configuration key \(Self.path(context)): expected \(Self.typeName(type))")
        } catch let DecodingError.valueNotFound(type, context) {
            throw EmbeddingError(
                .invalidConfiguration, "configuration key \(Self.path(context)): expected \(Self.typeName(type)), got null")
        } catch let DecodingError.dataCorrupted(context) {
            throw EmbeddingError(.invalidConfiguration, "configuration key \(Self.path(context)): \(context.debugDescription)")
        } catch {
            throw EmbeddingError(.invalidConfiguration, "configuration: \(error)")
        }
    }

    /// Checks every value's range.
    ///
    /// - Throws: ``EmbeddingError`` with code ``EmbeddingError/Code/invalidConfiguration``
    ///   naming the first value out of range.
    public func validate() throws {
        func bad(_ key: CodingKeys, _ what: String) -> EmbeddingError {
            EmbeddingError(.invalidConfiguration, "configuration key \(key.rawValue): \(what)")
        }
        if cacheCapacity < 1 { throw bad(.cacheCapacity, "must be at least 1, got \(cacheCapacity)") }
        if !(cacheTTL > 0) { throw bad(.cacheTTL, "must be more than 0 seconds, got \(cacheTTL)") }
        if clusteringThreshold < 1 { throw bad(.clusteringThreshold, "must be at least 1, got \(clusteringThreshold)") }
        if !(clusteringTimeout > 0) { throw bad(.clusteringTimeout, "must be more than 0 seconds, got \(clusteringTimeout)") }
        if let theta, theta < 1 { throw bad(.theta, "must be at least 1, got \(theta)") }
        if !(callTimeout >= 0) || !callTimeout.isFinite {
            throw bad(.callTimeout, "must be 0 (no limit) or more seconds, got \(callTimeout)")
        }
        if let databasePath, databasePath.isEmpty { throw bad(.databasePath, "must not be empty (leave it out for the default)") }
        let provider: EngineProvider
        do { provider = try EngineFactory.provider(engine) } catch { throw bad(.engine, "\(error)") }
        do { try provider.checkLocation(databasePath) } catch { throw bad(.databasePath, "\(error)") }
    }

    /// The write path's settings this configuration describes.
    public var memoryConfiguration: MemoryConfiguration {
        var c = baseline ? MemoryConfiguration.baseline : MemoryConfiguration()
        c.cacheCapacity = cacheCapacity
        c.cacheTTL = cacheTTL
        c.clusteringThreshold = clusteringThreshold
        c.clusteringTimeout = clusteringTimeout
        c.explicitTheta = theta
        c.backgroundClustering = true
        return c
    }

    /// The plugin limits this configuration describes.
    public var pluginLimits: PluginLimits {
        var l = PluginLimits.default
        l.timeout = callTimeout > 0 ? .milliseconds(Int64((min(callTimeout, 1e9) * 1000).rounded())) : nil
        l.memoryBytes = memoryLimitMB << 20
        l.writablePaths = allowWrite
        l.readablePaths = allowRead
        l.network = allowNetwork
        return l
    }

    /// The JSON keys.
    public enum CodingKeys: String, CodingKey, CaseIterable {
        /// ``HostConfiguration/engine``: `"sqlite"`, `"memory"`, or a registered engine's name.
        case engine
        /// ``HostConfiguration/databasePath``.
        case databasePath = "database_path"
        /// ``HostConfiguration/baseline``.
        case baseline
        /// ``HostConfiguration/pluginDirectories``.
        case pluginDirectories = "plugin_directories"
        /// ``HostConfiguration/cacheCapacity``.
        case cacheCapacity = "cache_capacity"
        /// ``HostConfiguration/cacheTTL``, in seconds.
        case cacheTTL = "cache_ttl"
        /// ``HostConfiguration/clusteringThreshold``.
        case clusteringThreshold = "clustering_threshold"
        /// ``HostConfiguration/clusteringTimeout``, in seconds.
        case clusteringTimeout = "clustering_timeout"
        /// ``HostConfiguration/theta``.
        case theta
        /// ``HostConfiguration/isolation``: `"process"` or `"in-process"`.
        case isolation
        /// ``HostConfiguration/callTimeout``, in seconds.
        case callTimeout = "call_timeout"
        /// ``HostConfiguration/memoryLimitMB``.
        case memoryLimitMB = "memory_limit_mb"
        /// ``HostConfiguration/allowWrite``.
        case allowWrite = "allow_write"
        /// ``HostConfiguration/allowRead``.
        case allowRead = "allow_read"
        /// ``HostConfiguration/allowNetwork``.
        case allowNetwork = "allow_network"
    }

    /// Decodes a configuration; absent keys take their defaults, unknown keys are an error.
    public init(from decoder: any Decoder) throws {
        let any = try decoder.container(keyedBy: AnyCodingKey.self)
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        if let unknown = any.allKeys.map(\.stringValue).sorted().first(where: { !known.contains($0) }) {
            throw EmbeddingError(
                .invalidConfiguration,
                "unknown configuration key \(unknown.debugDescription) (known: \(CodingKeys.allCases.map(\.rawValue).joined(separator: ", ")))"
            )
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = HostConfiguration()
        if let name = try c.decodeIfPresent(String.self, forKey: .engine) {
            do { engine = try EngineFactory.provider(EngineKind(rawValue: name)).kind } catch {
                throw EmbeddingError(.invalidConfiguration, "configuration key engine: \(error)")
            }
        } else {
            engine = d.engine
        }
        databasePath = try c.decodeIfPresent(String.self, forKey: .databasePath)
        baseline = try c.decodeIfPresent(Bool.self, forKey: .baseline) ?? d.baseline
        pluginDirectories = try c.decodeIfPresent([String].self, forKey: .pluginDirectories) ?? d.pluginDirectories
        cacheCapacity = try c.decodeIfPresent(Int.self, forKey: .cacheCapacity) ?? d.cacheCapacity
        cacheTTL = try c.decodeIfPresent(Double.self, forKey: .cacheTTL) ?? d.cacheTTL
        clusteringThreshold = try c.decodeIfPresent(Int.self, forKey: .clusteringThreshold) ?? d.clusteringThreshold
        clusteringTimeout = try c.decodeIfPresent(Double.self, forKey: .clusteringTimeout) ?? d.clusteringTimeout
        theta = try c.decodeIfPresent(Int32.self, forKey: .theta)
        if let name = try c.decodeIfPresent(String.self, forKey: .isolation) {
            guard let i = Isolation(rawValue: name) else {
                throw EmbeddingError(
                    .invalidConfiguration,
                    "configuration key isolation: must be \"process\" or \"in-process\", got \(name.debugDescription)")
            }
            isolation = i
        } else {
            isolation = nil
        }
        callTimeout = try c.decodeIfPresent(Double.self, forKey: .callTimeout) ?? d.callTimeout
        memoryLimitMB = try c.decodeIfPresent(UInt64.self, forKey: .memoryLimitMB) ?? d.memoryLimitMB
        allowWrite = try c.decodeIfPresent([String].self, forKey: .allowWrite) ?? d.allowWrite
        allowRead = try c.decodeIfPresent([String].self, forKey: .allowRead) ?? d.allowRead
        allowNetwork = try c.decodeIfPresent(Bool.self, forKey: .allowNetwork) ?? d.allowNetwork
        try validate()
    }

    /// Encodes every key (the database path only when set).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(engine.rawValue, forKey: .engine)
        try c.encodeIfPresent(databasePath, forKey: .databasePath)
        try c.encode(baseline, forKey: .baseline)
        try c.encode(pluginDirectories, forKey: .pluginDirectories)
        try c.encode(cacheCapacity, forKey: .cacheCapacity)
        try c.encode(cacheTTL, forKey: .cacheTTL)
        try c.encode(clusteringThreshold, forKey: .clusteringThreshold)
        try c.encode(clusteringTimeout, forKey: .clusteringTimeout)
        try c.encodeIfPresent(theta, forKey: .theta)
        try c.encodeIfPresent(isolation?.rawValue, forKey: .isolation)
        try c.encode(callTimeout, forKey: .callTimeout)
        try c.encode(memoryLimitMB, forKey: .memoryLimitMB)
        try c.encode(allowWrite, forKey: .allowWrite)
        try c.encode(allowRead, forKey: .allowRead)
        try c.encode(allowNetwork, forKey: .allowNetwork)
    }

    /// A coding key for any string, to find unknown keys.
    private struct AnyCodingKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    private static func path(_ context: DecodingError.Context) -> String {
        let p = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        return p.isEmpty ? "(top level)" : p.replacingOccurrences(of: ".[", with: "[")
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is Int.Type, is Int32.Type: "an integer"
        case is Double.Type: "a number"
        case is [String].Type: "an array of strings"
        default: "\(type)"
        }
    }
}
