import CPlugHostABI
import Foundation
import Synchronization

/// A plugin that passed every check and whose `init` succeeded.
public final class LoadedPlugin: @unchecked Sendable {
    /// The name the host knows it by (the descriptor's name unless loaded under an alias).
    public let name: String
    /// The name in the plugin's descriptor.
    public let descriptorName: String
    /// Who the plugin is to its memory and goal contexts: its declared name, whatever name a
    /// host or a pipeline loads it under, so that `call`, `run` and the embedding APIs share its
    /// contexts. (`ph_call_context.plugin` and every memory it writes carry it.)
    public var identity: String { descriptorName }
    /// The plugin's version string.
    public let version: String
    /// Its one-line description ("" when none).
    public let description: String
    /// The file it was loaded from.
    public let path: String
    /// The ABI version the plugin was built against.
    public let abiMajor: UInt32, abiMinor: UInt32
    /// Where its code runs.
    public let isolation: Isolation
    /// The biggest string or buffer one of its functions may return.
    public let maxResultBytes: Int
    /// Set when the code runs in a worker: calls are forwarded to it.
    package let remote: (any RemotePlugin)?
    /// Its functions, in declaration order.
    public private(set) var functions: [PluginFunction] = []
    private var byName: [String: PluginFunction] = [:]

    let services: any HostServices
    let cName: UnsafeMutablePointer<CChar>
    let callLock = Mutex<Void>(())
    let freeValue: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?
    private let shutdownHook: (@convention(c) () -> Void)?
    /// Shared with each function, so that the call path checks it without touching the plugin.
    let shutdownFlag = ShutdownFlag()
    /// Its call metrics (labelled with ``name``).
    let callMetrics: PluginCallMetrics

    package init(
        name: String, descriptorName: String, version: String, description: String, path: String,
        abiMajor: UInt32, abiMinor: UInt32, services: any HostServices,
        freeValue: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?,
        shutdown: (@convention(c) () -> Void)?,
        maxResultBytes: Int = PluginLimits.default.maxResultBytes, remote: (any RemotePlugin)? = nil
    ) {
        self.name = name
        callMetrics = PluginCallMetrics(plugin: name)
        self.descriptorName = descriptorName
        self.version = version
        self.description = description
        self.path = path
        self.abiMajor = abiMajor
        self.abiMinor = abiMinor
        self.services = services
        self.cName = strdup(descriptorName)
        self.freeValue = freeValue
        self.shutdownHook = shutdown
        self.maxResultBytes = maxResultBytes
        self.remote = remote
        self.isolation = remote == nil ? .inProcess : .process
    }

    package func setFunctions(_ list: [PluginFunction]) {
        functions = list
        byName = Dictionary(uniqueKeysWithValues: list.map { ($0.name, $0) })
    }

    /// The function with this name, or nil.
    public func function(named name: String) -> PluginFunction? { byName[name] }

    /// Calls a function by name with dynamic values.
    public func call(_ function: String, _ arguments: [Value], goal: String = "default") throws -> Value {
        guard let f = byName[function] else {
            let known = functions.map(\.name).joined(separator: ", ")
            throw CallError(
                .unknownFunction, function: "\(name).\(function)", "plugin \(name) has no function \(function) (it has: \(known))")
        }
        return try f.call(arguments, goal: goal)
    }

    /// The most calls of this plugin that run at once in `process` isolation: the most worker
    /// processes it may have (``PluginLimits/workers`` at load, or what ``setMaxWorkers(_:)``
    /// set since). Always 1 in-process, where nothing here limits concurrent calls.
    public var maxWorkers: Int { remote?.maxWorkers ?? 1 }

    /// Lets up to `n` calls (at least 1) of this plugin run at once in `process` isolation,
    /// each in its own worker process; workers beyond the first start only when concurrent
    /// calls need them, and lowering `n` stops surplus workers as they become idle. A no-op
    /// in-process.
    public func setMaxWorkers(_ n: Int) {
        remote?.setMaxWorkers(n)
    }

    /// True once ``shutdown()`` ran; later calls throw `CallError.unloaded`.
    var isShutDownNow: Bool { shutdownFlag.isSet }

    /// Calls the plugin's `shutdown` hook once. The shared object stays mapped, so that no
    /// pointer the plugin handed out can dangle; later calls throw `CallError.unloaded`.
    public func shutdown() {
        guard shutdownFlag.set() else { return }
        if let remote {
            remote.shutdown()
            return
        }
        callLock.withLock { _ in shutdownHook?() }
    }
}

/// A one-way flag: set once when a plugin is shut down.
final class ShutdownFlag: Sendable {
    private let value = Atomic<Bool>(false)
    /// True once set.
    var isSet: Bool { value.load(ordering: .relaxed) }
    /// Sets the flag; true when this call set it.
    func set() -> Bool { !value.exchange(true, ordering: .acquiringAndReleasing) }
}
