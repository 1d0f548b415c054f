/// Goal-context keys the host keeps for itself: those starting with `plughost:`. A plugin
/// cannot read or set them, and the embedding APIs and MCP neither show nor set them.
package enum ContextKeys {
    /// The prefix of the host's own keys.
    package static let reservedPrefix = "plughost:"
    /// The key holding the path of the file that owns a plugin's context in a goal.
    package static let owner = reservedPrefix + "file"

    /// Whether `key` is one of the host's own.
    package static func isReserved(_ key: String) -> Bool { key.hasPrefix(reservedPrefix) }
}
