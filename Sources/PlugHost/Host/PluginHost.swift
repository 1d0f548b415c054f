import Foundation
import PlugHostIsolation
import Synchronization

/// A plugin host: loaded plugins plus the memory write path their host-API calls go through.
public final class PluginHost: Sendable {
    /// The memory write path.
    public let memory: MemoryService
    /// Where bare plugin names are looked for.
    public let searchPath: PluginSearchPath
    /// The isolation of plugins loaded without one; nil: `in-process` for the plugins bundled
    /// with plughost (in ``PluginSearchPath/bundledDirectories``), `process` for every other.
    public let defaultIsolation: Isolation?
    /// The limits of plugins loaded without their own.
    public let defaultLimits: PluginLimits
    private let plugins = Mutex<[String: LoadedPlugin]>([:])
    private let quarantine: CrashQuarantine

    /// Creates a host over a memory write path.
    ///
    /// - Parameters:
    ///   - isolation: How plugins run unless ``load(_:as:relativeTo:isolation:limits:sha256:)``
    ///     says otherwise; nil picks per plugin (see ``defaultIsolation``).
    ///   - limits: Deadlines and limits of plugins loaded without their own.
    public convenience init(
        memory: MemoryService, searchPath: PluginSearchPath = PluginSearchPath(), isolation: Isolation? = nil,
        limits: PluginLimits = .default
    ) {
        self.init(memory: memory, searchPath: searchPath, isolation: isolation, limits: limits, quarantine: nil)
    }

    /// A host with its own crash-quarantine store (the default location when nil).
    package init(
        memory: MemoryService, searchPath: PluginSearchPath, isolation: Isolation?, limits: PluginLimits,
        quarantine: CrashQuarantine?
    ) {
        self.memory = memory
        self.searchPath = searchPath
        self.defaultIsolation = isolation
        self.defaultLimits = limits
        self.quarantine = quarantine ?? CrashQuarantine.atDefaultLocation()
    }

    /// The isolation a plugin at `path` gets when loaded without one.
    public func isolation(forPluginAt path: String) -> Isolation {
        if let defaultIsolation { return defaultIsolation }
        let dir = (Self.realPath(path) as NSString).deletingLastPathComponent
        let bundled = searchPath.bundledDirectories.map(Self.realPath)
        return bundled.contains(dir) ? .inProcess : .process
    }

    /// `path` with every symbolic link resolved (realpath(3)); `path` itself when that fails.
    /// Not `NSString.resolvingSymlinksInPath`, which leaves a relative link such as SwiftPM's
    /// `.build/release → x86_64-unknown-linux-gnu/release` unresolved.
    package static func realPath(_ path: String) -> String {
        guard let p = realpath(path, nil) else { return path }
        defer { free(p) }
        return String(cString: p)
    }

    /// Loads a plugin by path or bare name; `alias` names it in this host (its descriptor name
    /// by default). Loading the same file under the same name twice returns the loaded plugin.
    ///
    /// - Parameters:
    ///   - isolation: Where its code runs; nil: ``isolation(forPluginAt:)``.
    ///   - limits: Its deadline and limits; nil: ``defaultLimits``.
    ///   - sha256: A pinned SHA-256 ("sha256:HEX" or HEX): a file with another digest is refused.
    @discardableResult
    public func load(
        _ reference: String, as alias: String? = nil, relativeTo base: String? = nil, isolation: Isolation? = nil,
        limits: PluginLimits? = nil, sha256: String? = nil
    ) throws -> LoadedPlugin {
        let path = try searchPath.resolve(reference, relativeTo: base)
        if let alias, let existing = plugins.withLock({ $0[alias] }) {
            if existing.path == path { return existing }
            throw LoadError(.duplicatePlugin, path: path, "a plugin named \(alias) is already loaded from \(existing.path)")
        }
        try PluginFile.check(path)
        let mode = isolation ?? self.isolation(forPluginAt: path)
        let limits = limits ?? defaultLimits
        var digest: String? = nil
        if let sha256 {
            let d = try PluginDigest.sha256(ofFile: path)
            try PluginDigest.verify(pin: sha256, digest: d, path: path)
            digest = d
        }
        let plugin: LoadedPlugin
        switch mode {
        case .inProcess:
            plugin = try PluginLoader.load(
                path: path, as: alias, services: PluginServices(base: memory, file: path), maxResultBytes: limits.maxResultBytes)
        case .process:
            plugin = try IsolatedPlugin.load(
                path: path, as: alias, services: PluginServices(base: memory, file: path), limits: limits,
                sha256: try digest ?? PluginDigest.sha256(ofFile: path),
                quarantine: quarantine)
        }
        return try plugins.withLock { p in
            if let existing = p[plugin.name] {
                if existing.path == path {
                    if plugin !== existing { plugin.shutdown() }
                    return existing
                }
                plugin.shutdown()
                throw LoadError(
                    .duplicatePlugin, path: path,
                    "a plugin named \(plugin.name) is already loaded from \(existing.path); load it under another name")
            }
            p[plugin.name] = plugin
            return plugin
        }
    }

    /// The loaded plugin with this name, or nil.
    public func plugin(named name: String) -> LoadedPlugin? { plugins.withLock { $0[name] } }

    /// All loaded plugins, sorted by name.
    public var loadedPlugins: [LoadedPlugin] { plugins.withLock { $0.values.sorted { $0.name < $1.name } } }

    /// Calls `plugin.function` with dynamic values in `goal`.
    public func call(_ plugin: String, _ function: String, _ arguments: [Value], goal: String = "default") throws -> Value {
        guard let p = self.plugin(named: plugin) else {
            throw CallError(.unknownFunction, function: "\(plugin).\(function)", "no plugin named \(plugin) is loaded")
        }
        return try p.call(function, arguments, goal: goal)
    }

    /// Shuts every plugin down, then flushes and closes the memory.
    public func close() throws {
        for p in loadedPlugins { p.shutdown() }
        try memory.close()
    }
}
