import Foundation
import Synchronization

/// A plugin host: loaded plugins plus the memory write path their host-API calls go through.
public final class PluginHost: Sendable {
    /// The memory write path.
    public let memory: MemoryService
    /// Where bare plugin names are looked for.
    public let searchPath: PluginSearchPath
    private let plugins = Mutex<[String: LoadedPlugin]>([:])

    /// Creates a host over a memory write path.
    public init(memory: MemoryService, searchPath: PluginSearchPath = PluginSearchPath()) {
        self.memory = memory
        self.searchPath = searchPath
    }

    /// Loads a plugin by path or bare name; `alias` names it in this host (its descriptor name
    /// by default). Loading the same file under the same name twice returns the loaded plugin.
    @discardableResult
    public func load(_ reference: String, as alias: String? = nil, relativeTo base: String? = nil) throws -> LoadedPlugin {
        let path = try searchPath.resolve(reference, relativeTo: base)
        if let alias, let existing = plugins.withLock({ $0[alias] }) {
            if existing.path == path { return existing }
            throw LoadError(.duplicatePlugin, path: path, "a plugin named \(alias) is already loaded from \(existing.path)")
        }
        let plugin = try PluginLoader.load(path: path, as: alias, services: memory)
        return try plugins.withLock { p in
            if let existing = p[plugin.name] {
                if existing.path == path { return existing }
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
