import Foundation
import Logging
import PlugHostCore
import Synchronization

/// Forwards what a worker prints to the host's log, a line at a time, tagged with the plugin
/// (and the step and item of the call it is running): never into the host's own standard
/// output. Standard output is logged at info, standard error at warning; below the host's level
/// it is read and dropped.
package enum OutputPump {
    /// The metadata a worker's printed lines get; the host sets it around each call.
    package final class Tags: Sendable {
        private let plugin: Mutex<String>
        private let call = Mutex<Logger.Metadata>([:])

        init(plugin: String) { self.plugin = Mutex(plugin) }

        /// The plugin's name, once the host knows it.
        package func setPlugin(_ name: String) { plugin.withLock { $0 = name } }
        /// The running call's metadata (empty between calls).
        package func setCall(_ metadata: Logger.Metadata) { call.withLock { $0 = metadata } }

        var current: (plugin: String, call: Logger.Metadata) { (plugin.withLock { $0 }, call.withLock { $0 }) }
    }

    static func start(stdout: Int32, stderr: Int32, tags: Tags) {
        // The lines read at once are one message (one write by plughost's handler, a line each).
        let log: @Sendable (Logger.Level, ArraySlice<UInt8>) -> Void = { level, lines in
            let (plugin, call) = tags.current
            HostLog.plugin(plugin, level: level, String(decoding: lines, as: UTF8.self), extra: call)
        }
        let thread = Thread {
            var open: [(fd: Int32, level: Logger.Level, pending: [UInt8])] = [(stdout, .info, []), (stderr, .warning, [])]
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            while !open.isEmpty {
                var fds = open.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
                if poll(&fds, nfds_t(fds.count), -1) < 0 {
                    if errno == EINTR { continue }
                    break
                }
                var i = 0
                while i < open.count {
                    guard fds[i].revents != 0 else {
                        i += 1
                        continue
                    }
                    let n = read(open[i].fd, &chunk, chunk.count)
                    if n <= 0 {
                        if !open[i].pending.isEmpty { log(open[i].level, open[i].pending[...]) }
                        close(open[i].fd)
                        open.remove(at: i)
                        fds.remove(at: i)
                        continue
                    }
                    guard HostLog.plugins.logLevel <= open[i].level else {  // read and dropped
                        i += 1
                        continue
                    }
                    open[i].pending += chunk[0..<n]
                    // The whole lines read so far, as one message (without the last newline).
                    if let last = open[i].pending.lastIndex(of: 10) {
                        log(open[i].level, open[i].pending[..<last])
                        open[i].pending.removeFirst(last + 1)
                    }
                    if open[i].pending.count > 1 << 16 {  // a very long line: log it in pieces
                        log(open[i].level, open[i].pending[...])
                        open[i].pending.removeAll(keepingCapacity: true)
                    }
                    i += 1
                }
            }
            for o in open { close(o.fd) }
        }
        thread.name = "plughost-output"
        thread.start()
    }
}
