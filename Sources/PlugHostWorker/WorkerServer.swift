import CPlugHostRuntime
import Glibc
import PlugHostCore

/// The worker's loop: one `load`, then `call`s until `shutdown` or the host goes away.
///
/// Everything the plugin does happens on this (the main) thread, in the order the host asks;
/// the host's deadline covers it all, so the worker itself never times anything out.
final class WorkerServer {
    /// Frames bigger than this are refused (a result is capped far below it).
    static let maxFrameBytes = 1 << 30

    let channel: WireChannel
    var plugin: LoadedPlugin?

    init(channel: WireChannel) { self.channel = channel }

    func run() -> Never {
        while true {
            let kind: WireKind
            var reader: WireReader
            do {
                (kind, reader) = try channel.receive()
            } catch {
                Self.channelFailure(error)
            }
            do {
                switch kind {
                case .load: try load(&reader)
                case .call: try call(&reader)
                case .shutdown:
                    plugin?.shutdown()
                    exit(0)
                default: Self.protocolFailure("unexpected message \(kind)")
                }
            } catch let error as WireError {
                Self.protocolFailure(error.description)
            } catch let failure as WireChannel.Failure {
                Self.channelFailure(failure)
            } catch {
                Self.protocolFailure("\(error)")
            }
        }
    }

    private func load(_ r: inout WireReader) throws {
        let path = try r.string()
        let alias = try r.optionalString()
        let maxResultBytes = try r.int()
        let memoryLimits = try r.memoryLimits()
        var limits = ph_rt_limits(address_space_bytes: try r.u64(), cpu_seconds: try r.u64(), open_files: try r.u64())
        let writable = try r.strings()
        let readable = try r.strings()
        let network = try r.bool()

        var what: UnsafePointer<CChar>? = nil
        let rc = ph_rt_apply_limits(&limits, &what)
        if rc != 0 { return try loadFailed(.workerFailed, "the worker could not apply its limits: \(Self.describe(what, rc))") }
        let cWritable = writable.map { strdup($0) }, cReadable = readable.map { strdup($0) }
        defer { (cWritable + cReadable).forEach { free($0) } }
        let landlock = cReadable.map { UnsafePointer($0) }.withUnsafeBufferPointer { r in
            cWritable.map { UnsafePointer($0) }.withUnsafeBufferPointer { w in
                ph_rt_landlock_restrict(r.baseAddress, r.count, w.baseAddress, w.count, network ? 1 : 0, &what)
            }
        }
        if landlock < 0 { return try loadFailed(.workerFailed, "the worker could not apply its sandbox: \(Self.describe(what, landlock))") }

        let services = ChannelHostServices(channel: channel, limits: memoryLimits)
        let loaded: LoadedPlugin
        do {
            loaded = try PluginLoader.load(path: path, as: alias, services: services, maxResultBytes: maxResultBytes)
        } catch let error as LoadError {
            return try loadFailed(error.code, error.message)
        }
        plugin = loaded
        var w = WireWriter(.loaded, capacity: 512)
        w.string(loaded.name)
        w.string(loaded.descriptorName)
        w.string(loaded.version)
        w.string(loaded.description)
        w.u32(loaded.abiMajor)
        w.u32(loaded.abiMinor)
        w.int(Int(landlock))
        w.u32(UInt32(loaded.functions.count))
        for f in loaded.functions {
            w.string(f.name)
            w.string(f.doc)
            w.u32(UInt32(f.parameters.count))
            for p in f.parameters {
                w.string(p.name)
                w.u32(p.type.rawValue)
                w.string(p.description)
                w.bool(p.minimum != nil)
                w.double(p.minimum ?? 0)
                w.bool(p.maximum != nil)
                w.double(p.maximum ?? 0)
                w.bool(p.allowed != nil)
                w.strings(p.allowed ?? [])
                w.bool(p.defaultValue != nil)
                if let d = p.defaultValue { w.value(d) }
            }
            w.u32(f.returnType.rawValue)
            w.u32(f.flags)
            w.string(f.resultDoc)
            w.optionalString(f.resultSchema)
        }
        try channel.send(w.finish())
    }

    private func loadFailed(_ code: LoadError.Code, _ message: String) throws {
        var w = WireWriter(.loadFailed)
        w.string(code.description)
        w.string(message)
        try channel.send(w.finish())
    }

    private func call(_ r: inout WireReader) throws {
        let index = Int(try r.u32())
        let goal = try r.string()
        let count = Int(try r.u32())
        var arguments: [Value] = []
        arguments.reserveCapacity(count)
        for _ in 0..<count { arguments.append(try r.value()) }
        guard let plugin, index < plugin.functions.count else { Self.protocolFailure("a call before a load, or to function \(index)") }
        do {
            let result = try plugin.functions[index].call(arguments, goal: goal)
            var w = WireWriter(.result, capacity: 16)
            w.value(result)
            try channel.send(w.finish())
        } catch let error as CallError {
            var w = WireWriter(.callFailed)
            w.string(error.code.description)
            w.string(error.message)
            try channel.send(w.finish())
        }
    }

    static func describe(_ what: UnsafePointer<CChar>?, _ rc: Int32) -> String {
        "\(what.map { String(cString: $0) } ?? "?"): \(String(cString: strerror(-rc)))"
    }

    /// The host closed the channel (it exited or stopped this worker): leave quietly.
    static func channelFailure(_ failure: any Error) -> Never {
        if let f = failure as? WireChannel.Failure, case .closed = f { _exit(0) }
        protocolFailure("channel: \(failure)")
    }

    /// Something no host of this build sends: say so on stderr (the host logs it) and stop.
    static func protocolFailure(_ message: String) -> Never {
        let line = "plughost-worker: \(message)\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
        _exit(70)
    }
}
