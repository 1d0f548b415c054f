import PlugHostCore
/// One plugin's state for one goal: its key-value context and the ids of its recent memories.
public struct PluginContext: Sendable, Hashable {
    /// The context's keys and values.
    public var values: [String: String]
    /// Ids of the plugin's most recent memories in the goal, newest last.
    public var recent: [String]
    /// Creates a context.
    public init(values: [String: String] = [:], recent: [String] = []) {
        self.values = values
        self.recent = recent
    }
}
