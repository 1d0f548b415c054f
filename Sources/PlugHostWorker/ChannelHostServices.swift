import Glibc
import PlugHostCore

/// The host API as a worker offers it to its plugin: every memory and context operation is a
/// request to the host over the channel, answered before the plugin's call goes on. The host
/// runs it through its real write path (cache, batching, engine, clustering).
final class ChannelHostServices: HostServices {
    let channel: WireChannel
    let limits: MemoryLimits

    init(channel: WireChannel, limits: MemoryLimits) {
        self.channel = channel
        self.limits = limits
    }

    func write(_ write: MemoryWrite) throws -> String {
        var w = WireWriter(.request, capacity: 256 + write.content.utf8.count)
        w.u8(WireRequest.write.rawValue)
        w.memoryWrite(write)
        var r = try roundTrip(&w)
        return try r.string()
    }

    func recall(goal: String, _ query: RecallQuery, limit: Int) throws -> [RecalledMemory] {
        var w = WireWriter(.request)
        w.u8(WireRequest.recall.rawValue)
        w.string(goal)
        w.recallQuery(query)
        w.int(limit)
        var r = try roundTrip(&w)
        let n = Int(try r.u32())
        return try (0..<n).map { _ in try r.recalled() }
    }

    func forget(goal: String, id: String) throws -> Bool {
        var w = WireWriter(.request)
        w.u8(WireRequest.forget.rawValue)
        w.string(goal)
        w.string(id)
        var r = try roundTrip(&w)
        return try r.bool()
    }

    func contextValue(goal: String, plugin: String, key: String) throws -> String? {
        var w = WireWriter(.request)
        w.u8(WireRequest.contextGet.rawValue)
        w.string(goal)
        w.string(plugin)
        w.string(key)
        var r = try roundTrip(&w)
        return try r.optionalString()
    }

    func setContextValue(goal: String, plugin: String, key: String, value: String?) throws {
        var w = WireWriter(.request, capacity: 64 + (value?.utf8.count ?? 0))
        w.u8(WireRequest.contextSet.rawValue)
        w.string(goal)
        w.string(plugin)
        w.string(key)
        w.optionalString(value)
        _ = try roundTrip(&w)
    }

    /// Sends a request and reads its reply; a failed reply becomes the `MemoryError` the host
    /// raised. A broken channel means the host is gone: the worker exits.
    private func roundTrip(_ w: inout WireWriter) throws -> WireReader {
        do {
            try channel.send(w.finish())
            let (kind, reply) = try channel.receive()
            guard kind == .reply else { WorkerServer.protocolFailure("expected a reply, got \(kind)") }
            var r = reply
            if try r.bool() { return r }
            let code = try r.string()
            let message = try r.string()
            throw MemoryError(MemoryError.Code.named(code) ?? .storage, message)
        } catch let failure as WireChannel.Failure {
            WorkerServer.channelFailure(failure)
        } catch let error as WireError {
            WorkerServer.protocolFailure(error.description)
        }
    }
}
