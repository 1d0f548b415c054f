/// A plugin whose code runs elsewhere (in a worker process): the loaded plugin's functions
/// forward their calls to it.
package protocol RemotePlugin: AnyObject, Sendable {
    /// Calls the function at `index` of the descriptor's list; `timeout` overrides the plugin's.
    func call(_ function: PluginFunction, index: Int, arguments: [Value], goal: String, timeout: Duration?) throws -> Value
    /// Runs the plugin's `shutdown` and stops its workers.
    func shutdown()
    /// The most workers (concurrent calls) the plugin may have at once.
    var maxWorkers: Int { get }
    /// Sets ``maxWorkers`` (at least 1): raising it lets more calls run at once, lowering it
    /// stops surplus workers as they become idle.
    func setMaxWorkers(_ n: Int)
}
