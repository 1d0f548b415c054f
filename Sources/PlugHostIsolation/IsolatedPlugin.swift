import CPlugHostABI
import Foundation
import Logging
import PlugHostCore
import Synchronization

/// A plugin loaded in `process` isolation: its code runs in a pool of ``PluginWorker``s; the
/// host keeps its descriptor and serves its host API requests through the host's own write path.
///
/// A worker runs one call at a time. A call takes an idle worker, or starts one when fewer than
/// ``maxWorkers`` are live (the first starts at load; the others only when concurrent calls need
/// them), or else waits for one to become idle. A call that passes its deadline gets its worker
/// killed; a worker that dies (signal, exit, exception, panic) turns the call into a
/// `CallError`; either way only that worker is discarded, and a later call starts a fresh one,
/// which loads the plugin (and runs its `init`) again.
package final class IsolatedPlugin: RemotePlugin, @unchecked Sendable {
    package let path: String
    let alias: String?
    let limits: PluginLimits
    let services: any HostServices
    let executable: String
    let quarantine: CrashQuarantine?
    let sha256: String
    /// The plugin's name in this host (set once loaded).
    private(set) var name = ""
    /// Its identity (declared name): the only plugin its worker may act for.
    private(set) var identity = ""
    /// The workers, and the calls waiting for one.
    private let pool: Mutex<Pool>
    private var functionSignature: [String] = []
    /// The biggest reply the host builds (recalls are cut to fit).
    static let maxReplyBytes = 4 << 20
    /// The call failures a worker may report; any other code is a protocol violation.
    static let workerCallCodes: Set<CallError.Code> = [
        .pluginError, .badReturn, .resultTooBig, .argumentType, .argumentRange, .argumentCount, .unknownFunction,
    ]

    private init(
        path: String, alias: String?, limits: PluginLimits, services: any HostServices, executable: String,
        quarantine: CrashQuarantine?, sha256: String
    ) {
        self.path = path
        self.alias = alias
        self.limits = limits
        self.services = services
        self.executable = executable
        self.quarantine = quarantine
        self.sha256 = sha256
        self.pool = Mutex(Pool(max: max(1, limits.workers)))
    }

    /// Loads the plugin at `path` in a new worker and returns it as a loaded plugin whose calls
    /// go to that worker.
    package static func load(
        path: String, as alias: String?, services: any HostServices, limits: PluginLimits, sha256: String,
        quarantine: CrashQuarantine?, executable: String? = nil
    ) throws -> LoadedPlugin {
        // The caller (PluginHost.load) has checked the file with PluginFile.check.
        if let entry = quarantine?.entry(sha256: sha256), entry.isQuarantined {
            throw LoadError(.quarantined, path: path, entry.refusal)
        }
        let isolated = IsolatedPlugin(
            path: path, alias: alias, limits: limits, services: services, executable: try executable ?? WorkerExecutable.locate(),
            quarantine: quarantine, sha256: sha256)
        let (worker, descriptor) = try isolated.startWorker()
        // The worker is untrusted: its descriptor is checked again here, and the name computed.
        do {
            try descriptor.validate()
        } catch let error as WireError {
            worker.stop()
            throw LoadError(.workerFailed, path: path, "its worker reported a descriptor that breaks the ABI (\(error)); it was stopped")
        }
        isolated.name = alias ?? descriptor.descriptorName
        worker.logTags.setPlugin(isolated.name)
        isolated.identity = descriptor.descriptorName
        isolated.functionSignature = descriptor.signature
        let plugin = LoadedPlugin(
            name: isolated.name, descriptorName: descriptor.descriptorName, version: descriptor.version,
            description: descriptor.description, path: path, abiMajor: descriptor.abiMajor, abiMinor: descriptor.abiMinor,
            services: services, freeValue: nil, shutdown: nil, maxResultBytes: limits.maxResultBytes, remote: isolated)
        var functions: [PluginFunction] = []
        for (index, f) in descriptor.functions.enumerated() {
            functions.append(
                try PluginFunction(
                    plugin: plugin, index: index, name: f.name, doc: f.doc, parameters: f.parameters, returnType: f.returnType,
                    flags: f.flags, fn: remoteStub, resultDoc: f.resultDoc, resultSchema: f.resultSchema))
        }
        plugin.setFunctions(functions)
        // The first worker is the first idle one.
        isolated.pool.withLock { p in
            p.idle = [Lease(worker: worker, generation: p.generation)]
            p.live = 1
        }
        return plugin
    }

    // MARK: - Calls

    package func call(_ function: PluginFunction, index: Int, arguments: [Value], goal: String, timeout: Duration?) throws -> Value {
        let lease = try acquire(for: function)
        // A worker goes back idle after a result or the plugin's own error; after anything
        // else (a crash, a timeout, a broken protocol) it is stopped and a later call starts one.
        var healthy = false
        defer { release(lease, healthy: healthy) }
        let current = lease.worker
        // What the worker prints meanwhile is tagged like the call's own log lines.
        current.logTags.setCall(LogContext.metadata)
        defer { current.logTags.setCall([:]) }
        var w = WireWriter(.call, capacity: 64)
        w.u32(UInt32(index))
        w.string(goal)
        w.u32(UInt32(arguments.count))
        for a in arguments { w.value(a) }
        let limit = timeout ?? limits.timeout
        let deadline = deadline(limit)
        do {
            try current.channel.send(w.finish(), deadline: deadline, watchFD: current.pidfd)
            var (kind, r) = try answer(from: current, deadline: deadline, goal: goal)
            switch kind {
            case .result:
                let value = try r.value()
                try check(value, of: function)
                healthy = true
                return value
            case .callFailed:
                let named = CallError.Code.named(try r.string())
                let message = try r.string()
                // Only what a worker can know; a "timed out" or "quarantined" is the host's to say.
                guard let code = named, Self.workerCallCodes.contains(code) else {
                    throw WireError("a call failure with a code the worker may not give")
                }
                healthy = true
                throw CallError(code, function: function.qualifiedName, message)
            default:
                throw WireError("expected a call's result, got \(kind)")
            }
        } catch let failure as WireChannel.Failure {
            throw callFailure(failure, worker: current, function: function, timeout: limit)
        } catch let error as WireError {
            current.stop()
            throw CallError(
                .workerFailed, function: function.qualifiedName,
                "plugin \(name)'s worker broke the protocol in function \(function.name) (\(error)); it was stopped")
        }
    }

    /// Stops every worker: the idle ones at once (each runs the plugin's `shutdown`), the busy
    /// ones when their call ends. Returns when none is left; later calls throw `.unloaded`.
    package func shutdown() {
        let idle = pool.withLock { p in
            p.closed = true
            defer { p.idle = [] }
            p.wakeAll()
            return p.idle.map(\.worker)
        }
        retire(idle)
        pool.withLock { $0.live -= idle.count }
        // The busy ones (and any being started) stop as their calls end.
        while let waiting = pool.withLock({ p -> DispatchSemaphore? in
            guard p.live > 0 else { return nil }
            let s = DispatchSemaphore(value: 0)
            p.waiters.append(s)
            return s
        }) {
            waiting.wait()
        }
    }

    package var maxWorkers: Int { pool.withLock { $0.max } }

    package func setMaxWorkers(_ n: Int) {
        let surplus = pool.withLock { p in
            p.max = max(1, n)
            var out: [PluginWorker] = []
            while p.live - out.count > p.max, !p.idle.isEmpty { out.append(p.idle.removeFirst().worker) }
            p.wakeAll()
            return out
        }
        retire(surplus)
        pool.withLock { p in
            p.live -= surplus.count
            p.wakeAll()
        }
    }

    /// How many workers are running (idle, busy or starting), and how many of them are idle.
    package var workerCounts: (live: Int, idle: Int) { pool.withLock { ($0.live, $0.idle.count) } }

    // MARK: - The pool

    /// A worker lent to one call; `generation` tells a worker started before a quarantine.
    struct Lease {
        let worker: PluginWorker
        let generation: Int
    }

    struct Pool {
        /// The most live workers.
        var max: Int
        /// Idle workers, the most recently used last.
        var idle: [Lease] = []
        /// Workers running: idle, busy, or being started.
        var live = 0
        /// Workers discarded (crashed, timed out, broke the protocol) and not yet replaced: the
        /// next start is a restart.
        var lost = 0
        /// Bumped when the plugin is quarantined: a worker of an older generation is not reused.
        var generation = 0
        /// Set by shutdown: no call takes or starts a worker afterwards.
        var closed = false
        /// Calls (and shutdown) waiting for a worker to become idle or end.
        var waiters: [DispatchSemaphore] = []

        mutating func wakeOne() {
            if !waiters.isEmpty { waiters.removeFirst().signal() }
        }

        mutating func wakeAll() {
            for s in waiters { s.signal() }
            waiters = []
        }
    }

    private enum Take {
        case idle(Lease)
        case start(replacing: Bool)
        case wait(DispatchSemaphore)
    }

    /// An idle worker, or a new one when fewer than `max` are live; else waits for one.
    private func acquire(for function: PluginFunction) throws -> Lease {
        while true {
            let take = try pool.withLock { p throws(CallError) -> Take in
                guard !p.closed else { throw unloaded(function) }
                if let lease = p.idle.popLast() { return .idle(lease) }
                guard p.live < p.max else {
                    let s = DispatchSemaphore(value: 0)
                    p.waiters.append(s)
                    return .wait(s)
                }
                p.live += 1
                let replacing = p.lost > 0
                if replacing { p.lost -= 1 }
                return .start(replacing: replacing)
            }
            switch take {
            case .idle(let lease):
                return lease
            case .wait(let s):
                s.wait()
            case .start(let replacing):
                let w: PluginWorker
                do {
                    w = try start(for: function, replacing: replacing)
                } catch {
                    pool.withLock { p in
                        p.live -= 1
                        if replacing { p.lost += 1 }
                        if p.closed { p.wakeAll() } else { p.wakeOne() }
                    }
                    throw error
                }
                let generation = pool.withLock { p in p.closed ? nil : p.generation }
                guard let generation else {
                    // Shut down while it started.
                    retire([w])
                    pool.withLock { p in
                        p.live -= 1
                        p.wakeAll()
                    }
                    throw unloaded(function)
                }
                return Lease(worker: w, generation: generation)
            }
        }
    }

    /// Gives a worker back after a call: idle again when `healthy` (and still wanted), else
    /// stopped.
    private func release(_ lease: Lease, healthy: Bool) {
        let kept = pool.withLock { p in
            guard healthy, !p.closed, lease.generation == p.generation, p.live <= p.max else { return false }
            p.idle.append(lease)
            p.wakeOne()
            return true
        }
        if kept { return }
        if healthy { retire([lease.worker]) } else { lease.worker.stop() }
        pool.withLock { p in
            p.live -= 1
            if !healthy { p.lost += 1 }
            if p.closed { p.wakeAll() } else { p.wakeOne() }
        }
    }

    /// After a quarantine: the idle workers are stopped (and busy ones when their call ends),
    /// so that the next call tries to start a worker, which the quarantine refuses.
    private func retireAll() {
        let idle = pool.withLock { p in
            p.generation += 1
            defer { p.idle = [] }
            return p.idle.map(\.worker)
        }
        retire(idle)
        pool.withLock { p in
            p.live -= idle.count
            p.lost += idle.count
            p.wakeAll()
        }
    }

    /// Asks each worker to shut down (the plugin's `shutdown` hook runs), waits up to 2 s in all
    /// for them to end, then makes sure.
    private func retire(_ workers: [PluginWorker]) {
        guard !workers.isEmpty else { return }
        let soon = DispatchTime.now().uptimeNanoseconds + 2_000_000_000
        var asked: [PluginWorker] = []
        for w in workers {
            var frame = WireWriter(.shutdown)
            if (try? w.channel.send(frame.finish(), deadline: soon, watchFD: w.pidfd)) != nil { asked.append(w) }
        }
        // What the plugin's `shutdown` logs is read (and logged) while waiting for it to end.
        for w in asked where w.pidfd >= 0 {
            while let (kind, frame) = try? w.channel.receive(deadline: soon, watchFD: w.pidfd) {
                guard kind == .log else { break }
                var r = frame
                guard let line = try? WireLogLine(&r) else { break }
                logLine(line)
            }
            let now = DispatchTime.now().uptimeNanoseconds
            var exited = pollfd(fd: w.pidfd, events: Int16(POLLIN), revents: 0)
            _ = poll(&exited, 1, now < soon ? Int32((soon - now) / 1_000_000) : 0)
        }
        for w in workers { w.stop() }
    }

    /// `plugin`, and the calling thread's ``LogContext``, for the isolation log's lines.
    static func callMetadata(plugin: String) -> Logger.Metadata {
        var m = LogContext.metadata
        m["plugin"] = .string(plugin)
        return m
    }

    private func unloaded(_ function: PluginFunction) -> CallError {
        CallError(.unloaded, function: function.qualifiedName, "plugin \(name) was shut down (its host was closed)")
    }

    // MARK: - Worker life

    private func deadline(_ timeout: Duration?) -> UInt64? {
        guard let t = timeout else { return nil }
        // Clamped to a year: a bigger timeout is "no timeout" in practice, and must not overflow.
        let seconds = UInt64(clamping: max(0, min(t.components.seconds, 365 * 86_400)))
        let ns = seconds * 1_000_000_000 + UInt64(max(0, t.components.attoseconds) / 1_000_000_000)
        return DispatchTime.now().uptimeNanoseconds + ns
    }

    /// Starts a worker for a call: a restart after one was discarded (`replacing`), or another
    /// for concurrent calls. It must declare the functions the plugin was loaded with.
    private func start(for function: PluginFunction, replacing: Bool) throws -> PluginWorker {
        do {
            if let entry = quarantine?.entry(sha256: sha256), entry.isQuarantined {
                throw CallError(.quarantined, function: function.qualifiedName, "plugin \(name): \(entry.refusal)")
            }
            let (w, descriptor) = try startWorker()
            guard descriptor.signature == functionSignature else {
                w.stop()
                throw CallError(
                    .workerFailed, function: function.qualifiedName,
                    "plugin \(name) declares other functions than when it was loaded (\(path) changed?); load it again")
            }
            return w
        } catch let error as LoadError {
            throw CallError(
                error.code == .quarantined ? .quarantined : .workerFailed, function: function.qualifiedName,
                "plugin \(name) could not be "
                    + (replacing ? "restarted after its worker ended" : "started in another worker for concurrent calls")
                    + ": \(error.message)")
        }
    }

    /// Starts a worker and loads the plugin in it.
    private func startWorker() throws -> (PluginWorker, WorkerDescriptor) {
        let w = try PluginWorker.start(
            executable: executable, plugin: logName, maxFrameBytes: max(limits.maxResultBytes, 8 << 20) + (1 << 20))
        var m = WireWriter(.load, capacity: 256)
        m.string(path)
        m.optionalString(alias)
        m.int(limits.maxResultBytes)
        m.memoryLimits(services.limits)
        m.u64(limits.memoryBytes)
        m.u64(limits.cpuSeconds)
        m.u64(limits.openFiles)
        m.strings(limits.writablePaths)
        // The plugin's folder (its data files, the libraries beside it) and the worker's own.
        m.strings(
            PluginLimits.systemReadablePaths + limits.readablePaths + [
                (path as NSString).deletingLastPathComponent, (executable as NSString).deletingLastPathComponent,
            ])
        m.bool(limits.network)
        do {
            let loadDeadline = deadline(limits.timeout)
            try w.channel.send(m.finish(), deadline: loadDeadline, watchFD: w.pidfd)
            var (kind, r) = try answer(from: w, deadline: loadDeadline, goal: nil)
            switch kind {
            case .loaded:
                return (w, try WorkerDescriptor(&r))
            case .loadFailed:
                var code = LoadError.Code.named(try r.string()) ?? .workerFailed
                if [.quarantined, .hashMismatch, .timedOut, .crashed, .duplicatePlugin, .pluginNotFound].contains(code) {
                    code = .workerFailed
                }
                let message = try r.string()
                w.stop()
                throw LoadError(code, path: path, message)
            default:
                throw WireError("expected the load's answer, got \(kind)")
            }
        } catch let failure as WireChannel.Failure {
            switch failure {
            case .timedOut:
                w.stop()
                HostLog.isolation.notice(
                    "worker \(w.pid) of plugin \(logName) killed: loading passed its deadline of \(PluginLimits.text(limits.timeout))",
                    metadata: Self.callMetadata(plugin: logName))
                throw LoadError(
                    .timedOut, path: path,
                    "loading did not finish within \(PluginLimits.text(limits.timeout)) (a library constructor, the entry point or init that does not return); its worker was killed"
                )
            case .closed, .peerExited:
                guard w.awaitExit(milliseconds: 500) else {
                    w.stop()
                    throw LoadError(.workerFailed, path: path, "it closed its channel to the host while loading; its worker was stopped")
                }
                let end = w.endDescription()
                let quarantined = quarantine?.recordCrash(sha256: sha256, path: path, what: "\(end) while loading") ?? false
                HostLog.isolation.log(
                    level: quarantined ? .warning : .notice,
                    "worker \(w.pid) of plugin \(logName) crashed while loading: \(end)\(quarantined ? "; \(path) is now quarantined" : "")",
                    metadata: Self.callMetadata(plugin: logName))
                throw LoadError(
                    .crashed, path: path,
                    "crashed while loading (in a library constructor, the entry point or init): \(end)"
                        + (quarantined ? "; the file is now quarantined (\(CrashQuarantine.releaseHint(path)))" : ""))
            case .malformed(let m):
                w.stop()
                throw LoadError(.workerFailed, path: path, "its worker broke the protocol while loading (\(m)); it was stopped")
            case .system(let call, let e):
                w.stop()
                throw LoadError(.workerFailed, path: path, "talking to its worker failed: \(call): \(String(cString: strerror(e)))")
            }
        } catch let error as WireError {
            w.stop()
            throw LoadError(.workerFailed, path: path, "its worker broke the protocol while loading (\(error)); it was stopped")
        }
    }

    private func callFailure(
        _ failure: WireChannel.Failure, worker w: PluginWorker, function: PluginFunction, timeout: Duration?
    )
        -> CallError
    {
        // A closed channel usually means the worker is ending: give it a moment to, so that the
        // report says how it ended rather than that it was killed.
        let ended: Bool
        if case .closed = failure { ended = w.awaitExit(milliseconds: 500) } else { ended = true }
        if !ended {
            w.stop()
            return CallError(
                .workerFailed, function: function.qualifiedName,
                "plugin \(name) closed its channel to the host in function \(function.name); its worker was stopped")
        }
        defer { w.stop() }
        switch failure {
        case .timedOut:
            HostLog.isolation.notice(
                "worker \(w.pid) of plugin \(name) killed: \(function.name) passed its deadline of \(PluginLimits.text(timeout))",
                metadata: Self.callMetadata(plugin: name))
            return CallError(
                .timedOut, function: function.qualifiedName,
                "plugin \(function.qualifiedName) timed out after \(PluginLimits.text(timeout)); its worker was killed and the next call starts a new one"
            )
        case .closed, .peerExited:
            let end = w.endDescription()
            let quarantined =
                quarantine?.recordCrash(sha256: sha256, path: path, what: "\(end) in function \(function.name)") ?? false
            HostLog.isolation.notice(
                "worker \(w.pid) of plugin \(name) crashed in \(function.name): \(end)", metadata: Self.callMetadata(plugin: name))
            if quarantined {
                HostLog.isolation.warning(
                    "plugin \(name) quarantined after repeated crashes: \(path) (\(CrashQuarantine.releaseHint(path)))",
                    metadata: Self.callMetadata(plugin: name))
                retireAll()
            }
            return CallError(
                .crashed, function: function.qualifiedName,
                "plugin \(name) crashed in function \(function.name): \(end)"
                    + (quarantined
                        ? "; \(path) is now quarantined after repeated crashes (\(CrashQuarantine.releaseHint(path)))"
                        : "; the next call starts a new worker"))
        case .malformed(let m):
            return CallError(
                .workerFailed, function: function.qualifiedName,
                "plugin \(name)'s worker broke the protocol in function \(function.name) (\(m)); it was stopped")
        case .system(let call, let e):
            return CallError(
                .workerFailed, function: function.qualifiedName,
                "talking to plugin \(name)'s worker failed: \(call): \(String(cString: strerror(e)))")
        }
    }

    // MARK: - Serving the worker

    /// Reads until the worker answers, serving its host API requests and logs meanwhile.
    private func answer(from w: PluginWorker, deadline: UInt64?, goal: String?) throws -> (WireKind, WireReader) {
        while true {
            var (kind, r) = try w.channel.receive(deadline: deadline, watchFD: w.pidfd)
            switch kind {
            case .log:
                logLine(try WireLogLine(&r))
            case .request:
                guard let goal else { throw WireError("a host API request outside a call") }
                try w.channel.send(try serve(&r, goal: goal), deadline: deadline, watchFD: w.pidfd)
            default:
                return (kind, r)
            }
        }
    }

    /// The plugin's name in log lines: its name in this host once loaded; before, its alias or
    /// its file's name without `lib` and `.so`.
    private var logName: String {
        if !name.isEmpty { return name }
        if let alias { return alias }
        var file = (path as NSString).lastPathComponent
        if file.hasPrefix("lib") { file.removeFirst(3) }
        if file.hasSuffix(".so") { file.removeLast(3) }
        return file
    }

    /// Logs a line the worker sent, as the plugin's, with the calling thread's ``LogContext``.
    /// The worker's word for who logs (its `plugin`, `step` and `item`) is not taken.
    private func logLine(_ line: WireLogLine) {
        guard HostLog.plugins.logLevel <= line.level else { return }
        var extra: Logger.Metadata = [:]
        for (key, value) in line.metadata where !["plugin", "step", "item"].contains(key) { extra[key] = .string(value) }
        HostLog.plugin(logName, level: line.level, line.message, extra: extra)
    }

    /// Runs one host API request against the host's services and returns the reply frame.
    /// A worker is untrusted: it may only act for its own plugin, in the running call's goal.
    private func serve(_ r: inout WireReader, goal: String) throws -> [UInt8] {
        guard let op = WireRequest(rawValue: try r.u8()) else { throw WireError("unknown host API request") }
        func own(_ g: String, _ p: String? = nil) throws {
            guard g == goal else {
                throw WireError("a request for goal \(g.debugDescription) during a call in goal \(goal.debugDescription)")
            }
            if let p, p != identity { throw WireError("a request for plugin \(p.debugDescription) from plugin \(identity)") }
        }
        var w = WireWriter(.reply, capacity: 64)
        do {
            switch op {
            case .write:
                let m = try r.memoryWrite()
                try own(m.goal, m.plugin)
                let id = try services.write(m)
                w.bool(true)
                w.string(id)
            case .recall:
                let g = try r.string()
                let query = try r.recallQuery()
                let limit = try r.int()
                try own(g)
                let found = try services.recall(goal: g, query, limit: min(max(limit, 0), 10_000))
                // As many as fit in a frame the worker accepts (best first), never more.
                var body = WireWriter(.reply, capacity: 1024)
                var count = 0
                for m in found {
                    var one = WireWriter(.reply)
                    one.recalled(m)
                    guard body.bytes.count + one.bytes.count < Self.maxReplyBytes else { break }
                    body.recalled(m)
                    count += 1
                }
                w.bool(true)
                w.u32(UInt32(count))
                w.append(body.bytes.dropFirst(5))
            case .forget:
                let g = try r.string()
                let id = try r.string()
                try own(g)
                let found = try services.forget(goal: g, id: id)
                w.bool(true)
                w.bool(found)
            case .contextGet:
                let g = try r.string(), p = try r.string(), key = try r.string()
                try own(g, p)
                let value = try services.contextValue(goal: g, plugin: p, key: key)
                w.bool(true)
                w.optionalString(value)
            case .contextSet:
                let g = try r.string(), p = try r.string(), key = try r.string(), value = try r.optionalString()
                try own(g, p)
                try services.setContextValue(goal: g, plugin: p, key: key, value: value)
                w.bool(true)
            }
        } catch let error as MemoryError {
            w = WireWriter(.reply)
            w.bool(false)
            w.string(error.code.description)
            w.string(error.message)
        } catch let error as WireError {
            throw error
        } catch {
            w = WireWriter(.reply)
            w.bool(false)
            w.string(MemoryError.Code.storage.description)
            w.string("\(error)")
        }
        return w.finish()
    }
}

extension IsolatedPlugin {
    /// A worker's result must have the declared return type and respect the size limit.
    fileprivate func check(_ value: Value, of function: PluginFunction) throws {
        let ok: Bool
        switch (function.returnType, value) {
        case (.void, .void), (.bool, .bool), (.float, .double), (.double, .double), (.pointer, .pointer): ok = true
        case (.string, .string(let s)): ok = s.utf8.count <= limits.maxResultBytes
        case (.buffer, .buffer(let b)): ok = b.count <= limits.maxResultBytes
        case (.int8, .int(let i)), (.int16, .int(let i)), (.int32, .int(let i)), (.int64, .int(let i)):
            ok = function.returnType.signedRange?.contains(i) ?? true
        case (.uint8, .uint(let u)), (.uint16, .uint(let u)), (.uint32, .uint(let u)), (.uint64, .uint(let u)):
            ok = u <= (function.returnType.unsignedMax ?? UInt64.max)
        default: ok = false
        }
        guard ok else { throw WireError("a result that is not a \(function.returnType.name) within the limits") }
    }
}

/// Stands in for the C function pointer of a function whose code is in a worker; never called.
private let remoteStub: @convention(c) () -> Void = { fatalError("a plugin function in process isolation was called in the host") }

/// A plugin's descriptor as its worker reported it.
struct WorkerDescriptor {
    struct Function {
        let name: String, doc: String, parameters: [Parameter], returnType: ValueType, flags: UInt32
        let resultDoc: String, resultSchema: String?
    }
    let name: String, descriptorName: String, version: String, description: String
    let abiMajor: UInt32, abiMinor: UInt32
    let landlockABI: Int
    let functions: [Function]

    /// What must stay the same when a worker is restarted.
    var signature: [String] {
        functions.map { f in
            "\(f.name)(\(f.parameters.map { "\($0.type.rawValue)" }.joined(separator: ",")))\(f.returnType.rawValue)/\(f.flags)"
        }
    }

    /// The loader's descriptor checks, again on the host's side.
    func validate() throws {
        guard PluginLoader.isValidPluginName(descriptorName) else { throw WireError("plugin name \(descriptorName.debugDescription)") }
        var seen = Set<String>()
        for f in functions {
            guard PluginLoader.isIdentifier(f.name), seen.insert(f.name).inserted else {
                throw WireError("function name \(f.name.debugDescription) is not an identifier or is repeated")
            }
            guard f.flags & ~UInt32(PH_FN_KNOWN_FLAGS) == 0 else { throw WireError("function \(f.name) has unknown flags") }
            var params = Set<String>()
            for p in f.parameters {
                guard PluginLoader.isIdentifier(p.name), params.insert(p.name).inserted, p.type != .void else {
                    throw WireError("function \(f.name) has a bad parameter \(p.name.debugDescription)")
                }
            }
        }
    }

    init(_ r: inout WireReader) throws {
        name = try r.string()
        descriptorName = try r.string()
        version = try r.string()
        description = try r.string()
        abiMajor = try r.u32()
        abiMinor = try r.u32()
        landlockABI = try r.int()
        let count = Int(try r.u32())
        guard count <= Int(PH_MAX_FUNCTIONS) else { throw WireError("\(count) functions") }
        var list: [Function] = []
        for _ in 0..<count {
            let fname = try r.string(), doc = try r.string()
            let n = Int(try r.u32())
            guard n <= Int(PH_MAX_PARAMS) else { throw WireError("\(n) parameters") }
            var params: [Parameter] = []
            for _ in 0..<n {
                let pname = try r.string()
                guard let type = ValueType(rawValue: try r.u32()) else { throw WireError("an unknown parameter type") }
                let description = try r.string()
                let hasMin = try r.bool(), min = try r.double(), hasMax = try r.bool(), max = try r.double()
                let hasAllowed = try r.bool(), allowed = try r.strings()
                let defaultValue = try r.bool() ? try r.value() : nil
                let p = Parameter(
                    name: pname, type: type, description: description, minimum: hasMin ? min : nil, maximum: hasMax ? max : nil,
                    allowed: hasAllowed ? allowed : nil, defaultValue: defaultValue)
                // The loader's checks, again on the host's side.
                if let problem = p.metadataProblem { throw WireError("function \(fname), parameter \(pname): \(problem)") }
                params.append(p)
            }
            if let firstOptional = params.firstIndex(where: \.isOptional), params[firstOptional...].contains(where: { !$0.isOptional }) {
                throw WireError("function \(fname) has a required parameter after an optional one")
            }
            guard let ret = ValueType(rawValue: try r.u32()) else { throw WireError("an unknown return type") }
            let flags = try r.u32()
            let resultDoc = try r.string(), resultSchema = try r.optionalString()
            if let schema = resultSchema {
                guard ret == .string, case .object? = try? JSONReader.parse(schema) else {
                    throw WireError("function \(fname) has a result schema that is not a JSON object on a string result")
                }
            }
            list.append(
                Function(
                    name: fname, doc: doc, parameters: params, returnType: ret, flags: flags, resultDoc: resultDoc,
                    resultSchema: resultSchema))
        }
        functions = list
        guard r.isAtEnd else { throw WireError("bytes left over after the plugin's descriptor") }
    }
}
