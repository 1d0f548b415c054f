import Dispatch
import Foundation
import Synchronization

/// plughost embedded in an agent: a plugin host and its memory behind an `async` API.
///
/// ```swift
/// let runtime = try await PlugHostRuntime.open(HostConfiguration(engine: .memory, pluginDirectories: [dir]))
/// _ = try await runtime.load("text")
/// let keywords = try await runtime.invoke("text", "keywords", [.string(note), .int(5)], goal: "notes")
/// let recalled = try await runtime.recall(goal: "notes", .concept("swift"))
/// try await runtime.close()
/// ```
///
/// **Threads.** Plugin calls and engine I/O block, so no operation runs on Swift's cooperative
/// thread pool: each is dispatched to a private concurrent `DispatchQueue` and its result
/// handed back through a checked continuation. The awaiting task is suspended, not blocked.
///
/// **Concurrency.** Every method may be called from any number of tasks at once. Calls of a
/// plugin's functions run concurrently when the plugin flags them thread-safe, one at a time
/// otherwise; memory writes from concurrent tasks share group commits.
///
/// **Cancellation.** An operation that started is not interrupted by cancelling its task (a C
/// function cannot be stopped half-way); it finishes and its result is returned.
///
/// **Closing.** ``close()`` stops accepting operations, waits for those running, shuts the
/// plugins down, flushes the memory (pending clustering is run) and closes the engine. Every
/// later call throws ``EmbeddingError`` with code ``EmbeddingError/Code/closed`` ("host is
/// closed: …"); ``close()`` itself may be called again and then returns at once.
public final class PlugHostRuntime: Sendable {
    /// The configuration the runtime was opened with.
    public let configuration: HostConfiguration
    /// The plugin host underneath (its memory is ``PluginHost/memory``). Calling it directly
    /// blocks the calling thread and bypasses ``close()``'s bookkeeping: prefer the
    /// runtime's methods.
    public let host: PluginHost

    private let gate = OperationGate()
    private let queue: DispatchQueue
    private let counters = Mutex<(ok: Int, failed: Int)>((0, 0))

    private init(configuration: HostConfiguration, host: PluginHost, queue: DispatchQueue) {
        self.configuration = configuration
        self.host = host
        self.queue = queue
    }

    private static func makeQueue() -> DispatchQueue {
        DispatchQueue(label: "plughost.runtime", qos: .userInitiated, attributes: .concurrent)
    }

    /// Runs `body` on `queue` and suspends until it returned.
    private static func offload<T: Sendable>(
        on queue: DispatchQueue, _ body: @escaping @Sendable () throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Runs `body` on the runtime's queue, failing at once without a hop when it is closed.
    private func offload<T: Sendable>(_ operation: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        if gate.isClosed { throw EmbeddingError.closed(operation) }
        return try await Self.offload(on: queue, body)
    }

    // MARK: - Opening

    /// Opens a runtime: validates `configuration`, opens its engine (creating the SQLite file
    /// and its folders when needed) and the memory write path over it, finishing any clustering
    /// a previous process left pending.
    ///
    /// - Throws: ``EmbeddingError`` (``EmbeddingError/Code/invalidConfiguration``) for a value
    ///   out of range; ``MemoryError`` when the engine cannot be opened.
    public static func open(_ configuration: HostConfiguration = HostConfiguration()) async throws -> PlugHostRuntime {
        let queue = makeQueue()
        return try await offload(on: queue) { try open(configuration, queue: queue, fallbackPluginDirectories: []) }
    }

    /// ``open(_:)`` on the calling thread, for the C API. `fallbackPluginDirectories` are
    /// searched after every other folder of the plugin search path; one that also holds the
    /// `plughost` executable holds bundled plugins (in-process unless configured otherwise).
    /// Blocks: never call it from Swift's cooperative pool.
    @_spi(Embedding)
    @available(*, noasync, message: "blocks the calling thread; use open(_:)")
    public static func openBlocking(_ configuration: HostConfiguration, fallbackPluginDirectories: [String] = []) throws -> PlugHostRuntime
    {
        try open(configuration, queue: makeQueue(), fallbackPluginDirectories: fallbackPluginDirectories)
    }

    private static func open(
        _ configuration: HostConfiguration, queue: DispatchQueue, fallbackPluginDirectories: [String]
    ) throws -> PlugHostRuntime {
        try configuration.validate()
        let engine = try EngineFactory.open(configuration.engine, location: configuration.databasePath)
        let memory: MemoryService
        do {
            memory = try MemoryService(engine: engine, configuration: configuration.memoryConfiguration)
        } catch {
            try? engine.close()
            throw error
        }
        var searchPath = PluginSearchPath(extra: configuration.pluginDirectories)
        for dir in fallbackPluginDirectories where !searchPath.directories.contains(dir) {
            searchPath.directories.append(dir)
        }
        // The library's folder holds plughost's bundled plugins, as the executable's does, when
        // it is plughost's own folder (the build folder, with the executable in it): not a
        // shared /usr/lib, whose other plugins must stay isolated. Installed, they are in
        // <prefix>/lib/plughost/plugins beside the library.
        let installed = Set(fallbackPluginDirectories.compactMap(PluginSearchPath.installedPluginDirectory(besideLibraryIn:)))
        searchPath.bundledDirectories += fallbackPluginDirectories.filter {
            installed.contains($0) || FileManager.default.isExecutableFile(atPath: ($0 as NSString).appendingPathComponent("plughost"))
        }
        return PlugHostRuntime(
            configuration: configuration,
            host: PluginHost(
                memory: memory, searchPath: searchPath, isolation: configuration.isolation, limits: configuration.pluginLimits),
            queue: queue)
    }

    // MARK: - State

    /// True once ``close()`` was called (even while it is still flushing).
    public var isClosed: Bool { gate.isClosed }

    // MARK: - Plugins

    /// Loads a plugin and returns its summary.
    ///
    /// - Parameters:
    ///   - plugin: A path to a shared object (absolute, or relative to the working directory),
    ///     or a bare name looked up as `NAME.so` and `libNAME.so` in
    ///     ``HostConfiguration/pluginDirectories``, then `PLUGHOST_PLUGIN_PATH`, then the
    ///     running executable's folder.
    ///   - alias: The name to load it under (its descriptor's name by default); load the same
    ///     plugin twice under two aliases to get two independent contexts.
    /// - Returns: The plugin's name, version and functions. Loading the same file under the
    ///   same name again returns the plugin already loaded.
    /// - Throws: ``LoadError`` naming the file (not found, not a plugin, ABI mismatch, a
    ///   name already taken…); ``EmbeddingError`` when closed.
    public func load(_ plugin: String, as alias: String? = nil) async throws -> PluginInfo {
        try await offload("load") { try self.loadBlocking(plugin, as: alias) }
    }

    /// ``load(_:as:)`` on the calling thread, for the C API. Blocks.
    @_spi(Embedding)
    @available(*, noasync, message: "blocks the calling thread; use load(_:as:)")
    public func loadBlocking(_ plugin: String, as alias: String? = nil) throws -> PluginInfo {
        try gate.run("load") { PluginInfo(try host.load(plugin, as: alias)) }
    }

    /// Summaries of the loaded plugins, sorted by name.
    ///
    /// - Throws: ``EmbeddingError`` when closed.
    public func plugins() async throws -> [PluginInfo] {
        try pluginsBlocking()
    }

    /// ``plugins()`` for the C API (it does not block on I/O).
    @_spi(Embedding)
    public func pluginsBlocking() throws -> [PluginInfo] {
        try gate.run("plugins") { host.loadedPlugins.map(PluginInfo.init) }
    }

    // MARK: - Calls

    /// Calls a plugin function with arguments by position.
    ///
    /// - Parameters:
    ///   - plugin: The loaded plugin's name (or alias).
    ///   - function: The function's name.
    ///   - arguments: One value per declared parameter, in order. Integers travel as `.int` or
    ///     `.uint` whatever their declared width and are range-checked; a `.double` passes a
    ///     `float` or `double`; a `.string` passes a `string` (or a `buffer`, as its UTF-8).
    ///   - goal: The goal whose memory and context the call works in.
    /// - Returns: The function's result (`.void` for a void function); strings and buffers are
    ///   copies the caller owns.
    /// - Throws: ``CallError``: ``CallError/Code/unknownFunction`` (no such plugin or function),
    ///   ``CallError/Code/argumentCount``, ``CallError/Code/argumentType``,
    ///   ``CallError/Code/argumentRange``, or ``CallError/Code/pluginError`` with the message
    ///   the plugin reported; ``EmbeddingError`` when closed.
    public func invoke(_ plugin: String, _ function: String, _ arguments: [Value], goal: String = "default") async throws -> Value {
        try await offload("invoke") { try self.invokeBlocking(plugin, function, arguments, goal: goal) }
    }

    /// Calls a plugin function with arguments by parameter name (as
    /// ``PluginInfo/Function/parameters`` names them).
    ///
    /// - Throws: ``CallError`` with code ``CallError/Code/argumentCount`` naming an unknown or
    ///   missing parameter, and every error of ``invoke(_:_:_:goal:)``.
    public func invoke(_ plugin: String, _ function: String, arguments: [String: Value], goal: String = "default") async throws -> Value {
        try await offload("invoke") { try self.invokeBlocking(plugin, function, arguments: arguments, goal: goal) }
    }

    /// Calls a plugin function with arguments given as JSON text: an array by position
    /// (`[1, 2, 3]`) or an object by parameter name (`{"text": "…", "k": 5}`), each converted
    /// to the parameter's declared type with ``Value/init(json:as:)``. This is what an agent
    /// gets from a model's tool call.
    ///
    /// - Throws: ``EmbeddingError`` (``EmbeddingError/Code/invalidArgument``) when the text is
    ///   not JSON or neither an array nor an object; ``CallError`` naming the argument when a
    ///   value has the wrong type or range; and every error of ``invoke(_:_:_:goal:)``.
    public func invoke(_ plugin: String, _ function: String, jsonArguments: String, goal: String = "default") async throws -> Value {
        try await offload("invoke") { try self.invokeBlocking(plugin, function, jsonArguments: jsonArguments, goal: goal) }
    }

    /// ``invoke(_:_:_:goal:)`` on the calling thread, for the C API. Blocks.
    @_spi(Embedding)
    @available(*, noasync, message: "blocks the calling thread; use invoke(_:_:_:goal:)")
    public func invokeBlocking(_ plugin: String, _ function: String, _ arguments: [Value], goal: String = "default") throws -> Value {
        try gate.run("invoke") { try counted { try resolve(plugin, function).call(arguments, goal: goal) } }
    }

    /// ``invoke(_:_:arguments:goal:)`` on the calling thread, for the C API. Blocks.
    @_spi(Embedding)
    @available(*, noasync, message: "blocks the calling thread; use invoke(_:_:arguments:goal:)")
    public func invokeBlocking(_ plugin: String, _ function: String, arguments: [String: Value], goal: String = "default") throws -> Value {
        try gate.run("invoke") {
            try counted {
                let f = try resolve(plugin, function)
                return try f.call(try Self.order(arguments, for: f), goal: goal)
            }
        }
    }

    /// ``invoke(_:_:jsonArguments:goal:)`` on the calling thread, for the C API. Blocks.
    @_spi(Embedding)
    @available(*, noasync, message: "blocks the calling thread; use invoke(_:_:jsonArguments:goal:)")
    public func invokeBlocking(_ plugin: String, _ function: String, jsonArguments: String, goal: String = "default") throws -> Value {
        try gate.run("invoke") {
            try counted {
                let f = try resolve(plugin, function)
                let json: JSONValue
                do {
                    json = try JSONReader.parse(jsonArguments)
                } catch {
                    throw EmbeddingError(
                        .invalidArgument, "\(f.qualifiedName): arguments are not valid JSON (\(error)): \(Self.excerpt(jsonArguments))")
                }
                return try f.call(try Self.values(fromJSON: json, for: f), goal: goal)
            }
        }
    }

    /// The function, or a ``CallError`` saying which of plugin and function is unknown.
    private func resolve(_ plugin: String, _ function: String) throws -> PluginFunction {
        guard let p = host.plugin(named: plugin) else {
            let loaded = host.loadedPlugins.map(\.name)
            throw CallError(
                .unknownFunction, function: "\(plugin).\(function)",
                "no plugin named \(plugin) is loaded (loaded: \(loaded.isEmpty ? "none" : loaded.joined(separator: ", ")))")
        }
        guard let f = p.function(named: function) else {
            throw CallError(
                .unknownFunction, function: "\(plugin).\(function)",
                "plugin \(plugin) has no function \(function) (it has: \(p.functions.map(\.name).joined(separator: ", ")))")
        }
        return f
    }

    private func counted(_ body: () throws -> Value) throws -> Value {
        do {
            let v = try body()
            counters.withLock { $0.ok += 1 }
            return v
        } catch {
            counters.withLock { $0.failed += 1 }
            throw error
        }
    }

    /// Arguments by name, in declaration order.
    private static func order(_ arguments: [String: Value], for f: PluginFunction) throws -> [Value] {
        var signature: String { Self.signature(f) }
        if let unknown = arguments.keys.sorted().first(where: { n in !f.parameters.contains { $0.name == n } }) {
            throw CallError(.argumentCount, function: f.qualifiedName, "has no parameter \(unknown) (it takes \(signature))")
        }
        return try f.parameters.map { p in
            guard let v = arguments[p.name] ?? p.defaultValue else {
                throw CallError(.argumentCount, function: f.qualifiedName, "missing argument \(p.name) (it takes \(signature))")
            }
            return v
        }
    }

    /// JSON arguments (array by position or object by name), converted to the declared types.
    private static func values(fromJSON json: JSONValue, for f: PluginFunction) throws -> [Value] {
        var signature: String { Self.signature(f) }
        func convert(_ item: JSONValue, _ index: Int) throws -> Value {
            let p = f.parameters[index]
            do {
                return try Value(json: item, as: p.type)
            } catch let e as CallError {
                throw CallError(e.code, function: f.qualifiedName, "argument \(index + 1) (\(p.name)): \(e.message)")
            }
        }
        switch json {
        case .array(let list):
            // Trailing optional parameters may be left out: they take their defaults.
            let required = f.parameters.prefix { !$0.isOptional }.count
            guard (required...f.parameters.count).contains(list.count) else {
                let count = required == f.parameters.count ? "\(required)" : "\(required) to \(f.parameters.count)"
                throw CallError(
                    .argumentCount, function: f.qualifiedName,
                    "takes \(count) argument\(f.parameters.count == 1 ? "" : "s") (\(signature)), got \(list.count)")
            }
            return try f.parameters.indices.map { i in
                if i < list.count { return try convert(list[i], i) }
                return f.parameters[i].defaultValue!
            }
        case .object(let members):
            let object: [String: JSONValue]
            do {
                object = try JSONValue.uniqueMembers(members)
            } catch {
                throw EmbeddingError(.invalidArgument, "\(f.qualifiedName): arguments: \(error)")
            }
            if let unknown = object.keys.sorted().first(where: { n in !f.parameters.contains { $0.name == n } }) {
                throw CallError(.argumentCount, function: f.qualifiedName, "has no parameter \(unknown) (it takes \(signature))")
            }
            return try f.parameters.enumerated().map { i, p in
                guard let item = object[p.name] else {
                    if let d = p.defaultValue { return d }
                    throw CallError(.argumentCount, function: f.qualifiedName, "missing argument \(p.name) (it takes \(signature))")
                }
                return try convert(item, i)
            }
        default:
            throw EmbeddingError(
                .invalidArgument, "\(f.qualifiedName): arguments must be a JSON array (by position) or a JSON object (by parameter name)")
        }
    }

    /// `a: int64, b: int64`, for messages (built only when there is an error to report).
    private static func signature(_ f: PluginFunction) -> String {
        f.parameters.map { "\($0.name): \($0.type.name)" }.joined(separator: ", ")
    }

    private static func excerpt(_ s: String) -> String {
        let cut = s.count > 60 ? String(s.prefix(60)) + "…" : s
        return cut.debugDescription
    }

    // MARK: - Memory

    /// Writes a memory (as an agent, or on a plugin's behalf: `write.plugin` names the writer).
    ///
    /// - Returns: The memory's id, once the engine acknowledged it (durable on SQLite); a
    ///   recall sees it from then on.
    /// - Throws: ``MemoryError``: ``MemoryError/Code/invalid`` or ``MemoryError/Code/limit``
    ///   naming the field (nothing of the write is applied), ``MemoryError/Code/storage`` when
    ///   the engine failed; ``EmbeddingError`` when closed.
    public func write(_ write: MemoryWrite) async throws -> String {
        try await offload("write") { try self.writeBlocking(write) }
    }

    /// ``write(_:)`` on the calling thread, for the C API. Blocks.
    @_spi(Embedding)
    @available(*, noasync, message: "blocks the calling thread; use write(_:)")
    public func writeBlocking(_ write: MemoryWrite) throws -> String {
        try gate.run("write") { try host.memory.write(write) }
    }

    /// Forgets a memory by id (only in `goal` when given).
    ///
    /// - Returns: True when a memory was forgotten, false when there was none.
    /// - Throws: ``MemoryError`` when the engine failed; ``EmbeddingError`` when closed.
    public func forget(_ id: String, goal: String? = nil) async throws -> Bool {
        try await offload("forget") { try self.forgetBlocking(id, goal: goal) }
    }

    /// ``forget(_:goal:)`` on the calling thread, for the C API. Blocks.
    @_spi(Embedding)
    @available(*, noasync, message: "blocks the calling thread; use forget(_:goal:)")
    public func forgetBlocking(_ id: String, goal: String? = nil) throws -> Bool {
        try gate.run("forget") { try host.memory.forget(id: id, goal: goal) }
    }

    /// Recalls memories of a goal: by concept (newest first), by text (best first, scored) or
    /// by writing plugin (newest first). Sees every write that returned; never returns an
    /// expired memory.
    ///
    /// - Parameters:
    ///   - goal: The goal.
    ///   - query: What to look for; a concept is normalised first (`"  Swift "` finds `swift`).
    ///     ``RecallQuery/related(_:)`` widens recall by concept to the concept's cluster (exact:
    ///     the goal's pending clustering runs first).
    ///   - limit: The most memories to return.
    /// - Throws: ``MemoryError`` (``MemoryError/Code/invalid`` for a concept that is empty
    ///   after normalisation); ``EmbeddingError`` when closed.
    public func recall(goal: String, _ query: RecallQuery, limit: Int = 20) async throws -> [RecalledMemory] {
        try await offload("recall") { try self.recallBlocking(goal: goal, query, limit: limit) }
    }

    /// ``recall(goal:_:limit:)`` on the calling thread, for the C API. Blocks.
    @_spi(Embedding)
    @available(*, noasync, message: "blocks the calling thread; use recall(goal:_:limit:)")
    public func recallBlocking(goal: String, _ query: RecallQuery, limit: Int = 20) throws -> [RecalledMemory] {
        try gate.run("recall") {
            guard limit >= 1 else { throw EmbeddingError(.invalidArgument, "recall limit must be at least 1, got \(limit)") }
            return try host.memory.recall(goal: goal, query, limit: limit)
        }
    }

    /// A plugin's context for a goal: its key-value pairs (which the plugin reads and writes
    /// through `context_get`/`context_set`; keys starting with `plughost:` are the host's and
    /// left out) and the ids of its recent memories.
    ///
    /// - Throws: ``MemoryError`` when the engine failed; ``EmbeddingError`` when closed.
    public func context(goal: String, plugin: String) async throws -> PluginContext {
        try await offload("context") { try self.contextBlocking(goal: goal, plugin: plugin) }
    }

    /// ``context(goal:plugin:)`` on the calling thread, for the C API. Blocks.
    @_spi(Embedding)
    @available(*, noasync, message: "blocks the calling thread; use context(goal:plugin:)")
    public func contextBlocking(goal: String, plugin: String) throws -> PluginContext {
        var context = try gate.run("context") { try host.memory.context(goal: goal, plugin: plugin) }
        context.values = context.values.filter { !ContextKeys.isReserved($0.key) }
        return context
    }

    /// Sets one key of a plugin's context for a goal (nil removes it); durable once it returns,
    /// and seen by the plugin's next call in that goal.
    ///
    /// - Throws: ``MemoryError`` when the engine failed; ``EmbeddingError`` when closed.
    public func setContext(goal: String, plugin: String, key: String, value: String?) async throws {
        try await offload("setContext") { try self.setContextBlocking(goal: goal, plugin: plugin, key: key, value: value) }
    }

    /// ``setContext(goal:plugin:key:value:)`` on the calling thread, for the C API. Blocks.
    @_spi(Embedding)
    @available(*, noasync, message: "blocks the calling thread; use setContext(goal:plugin:key:value:)")
    public func setContextBlocking(goal: String, plugin: String, key: String, value: String?) throws {
        guard !ContextKeys.isReserved(key) else {
            throw EmbeddingError(.invalidArgument, "context keys starting with \"\(ContextKeys.reservedPrefix)\" are reserved for the host")
        }
        try gate.run("setContext") { try host.memory.setContextValue(goal: goal, plugin: plugin, key: key, value: value) }
    }

    /// Runs `body` with the host while the runtime is open (``close()`` waits for it), for
    /// operations built on ``host`` in other modules, such as running a pipeline. Blocks.
    package func withOpenHost<T>(_ operation: String, _ body: (PluginHost) throws -> T) throws -> T {
        try gate.run(operation) { try body(host) }
    }

    // MARK: - Clusters, stats, flush, close

    /// The canonical concept clusters of one goal, or of every goal (sorted by goal). They lag
    /// behind writes until clustering ran: call ``flush()`` first for exact clusters.
    /// ``CanonicalClusters/json(_:)`` gives their canonical JSON.
    ///
    /// - Throws: ``MemoryError`` when the engine failed; ``EmbeddingError`` when closed.
    public func clusters(goal: String? = nil) async throws -> [GoalClusters] {
        try await offload("clusters") { try self.clustersBlocking(goal: goal) }
    }

    /// ``clusters(goal:)`` on the calling thread, for the C API. Blocks.
    @_spi(Embedding)
    @available(*, noasync, message: "blocks the calling thread; use clusters(goal:)")
    public func clustersBlocking(goal: String? = nil) throws -> [GoalClusters] {
        try gate.run("clusters") { try host.memory.clusters(goal: goal) }
    }

    /// The engine, the loaded plugins, and the runtime's and write path's counters.
    ///
    /// - Throws: ``EmbeddingError`` when closed.
    public func stats() async throws -> RuntimeStats {
        try statsBlocking()
    }

    /// ``stats()`` for the C API (it does not block on I/O).
    @_spi(Embedding)
    public func statsBlocking() throws -> RuntimeStats {
        try gate.run("stats") {
            let c = counters.withLock { $0 }
            let kind = host.memory.engine.kind
            return RuntimeStats(
                engine: kind,
                databasePath: (try? EngineFactory.provider(configuration.engine))?.describeLocation(configuration.databasePath),
                plugins: host.loadedPlugins.map(\.name), invocations: c.ok, failedInvocations: c.failed,
                memory: host.memory.stats)
        }
    }

    /// Sweeps expired memories and runs all pending clustering: afterwards ``clusters(goal:)``
    /// is exact.
    ///
    /// - Throws: ``MemoryError`` when the engine failed; ``EmbeddingError`` when closed.
    public func flush() async throws {
        try await offload("flush") { try self.flushBlocking() }
    }

    /// ``flush()`` on the calling thread, for the C API. Blocks.
    @_spi(Embedding)
    @available(*, noasync, message: "blocks the calling thread; use flush()")
    public func flushBlocking() throws {
        try gate.run("flush") { try host.memory.flush() }
    }

    /// Closes the runtime: stops accepting operations (they throw ``EmbeddingError`` with code
    /// ``EmbeddingError/Code/closed`` from now on), waits for the running ones, calls every
    /// plugin's `shutdown`, flushes the memory and closes the engine. Calling it again (or
    /// concurrently) waits for the first close and returns without error.
    ///
    /// - Throws: ``MemoryError`` when the final flush failed; the runtime is closed anyway.
    public func close() async throws {
        // Waiting for running operations (and for a concurrent close) blocks: off the pool.
        try await Self.offload(on: queue) { try self.closeBlocking() }
    }

    /// ``close()`` on the calling thread, for the C API. Blocks until running operations
    /// returned.
    @_spi(Embedding)
    @available(*, noasync, message: "blocks the calling thread; use close()")
    public func closeBlocking() throws {
        guard gate.beginClose() else { return }
        defer { gate.finishClose() }
        try host.close()
    }
}
