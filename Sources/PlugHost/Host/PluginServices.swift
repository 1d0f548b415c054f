import Foundation

/// The host API one loaded plugin gets: the memory write path, with its goal contexts bound to
/// its file.
///
/// The first time a plugin (by identity, its declared name) uses its context in a goal, the
/// context records the plugin's file under the reserved key `plughost:file`. Afterwards a
/// different file declaring the same name gets `PH_ERR_STATE` for that goal's context instead
/// of reading or changing it; the same file rebuilt in place keeps it. Keys starting with
/// `plughost:` are the host's: a plugin cannot read or set them.
final class PluginServices: HostServices {
    /// The reserved context key holding the owning file's path.
    static let ownerKey = ContextKeys.owner

    let base: MemoryService
    /// The plugin's file (its real path).
    let file: String

    init(base: MemoryService, file: String) {
        self.base = base
        self.file = (file as NSString).resolvingSymlinksInPath
    }

    var limits: MemoryLimits { base.limits }
    func write(_ write: MemoryWrite) throws -> String { try base.write(write) }
    func recall(goal: String, _ query: RecallQuery, limit: Int) throws -> [RecalledMemory] {
        try base.recall(goal: goal, query, limit: limit)
    }
    func forget(goal: String, id: String) throws -> Bool { try base.forget(goal: goal, id: id) }

    func contextValue(goal: String, plugin: String, key: String) throws -> String? {
        try claim(goal: goal, plugin: plugin, key: key)
        return try base.contextValue(goal: goal, plugin: plugin, key: key)
    }

    func setContextValue(goal: String, plugin: String, key: String, value: String?) throws {
        try claim(goal: goal, plugin: plugin, key: key)
        try base.setContextValue(goal: goal, plugin: plugin, key: key, value: value)
    }

    private func claim(goal: String, plugin: String, key: String) throws {
        guard !ContextKeys.isReserved(key) else {
            throw MemoryError(.invalid, "context keys starting with \"\(ContextKeys.reservedPrefix)\" are reserved for the host")
        }
        switch try base.contextValue(goal: goal, plugin: plugin, key: Self.ownerKey) {
        case nil: try base.setContextValue(goal: goal, plugin: plugin, key: Self.ownerKey, value: file)
        case file?: return
        case let owner?:
            throw MemoryError(
                .forbidden,
                "the context of plugin \(plugin) in goal \(goal.debugDescription) belongs to \(owner), and \(file) declares the same name; load that file, or hand the context over with `plughost memory release-context --goal \(goal) --plugin \(plugin)`"
            )
        }
    }
}
