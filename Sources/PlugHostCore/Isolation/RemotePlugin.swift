/// A plugin whose code runs elsewhere (in a worker process): the loaded plugin's functions
/// forward their calls to it.
package protocol RemotePlugin: AnyObject, Sendable {
    /// Calls the function at `index` of the descriptor's list; `timeout` overrides the plugin's.
    func call(_ function: PluginFunction, index: Int, arguments: [Value], goal: String, timeout: Duration?) throws -> Value
    /// Runs the plugin's `shutdown` and stops its worker.
    func shutdown()
}
