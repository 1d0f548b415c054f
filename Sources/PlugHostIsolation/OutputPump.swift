import Foundation
import PlugHostCore

/// Forwards what a worker prints to the host's log, a line at a time, tagged with the plugin:
/// never into the host's own standard output.
enum OutputPump {
    static func start(stdout: Int32, stderr: Int32, plugin: String) {
        let log: @Sendable (LogLevel, [ArraySlice<UInt8>]) -> Void = { level, lines in
            HostLog.emit(plugin: plugin, level: level, lines: lines)
        }
        let thread = Thread {
            var open: [(fd: Int32, level: LogLevel, pending: [UInt8])] = [(stdout, .info, []), (stderr, .warn, [])]
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
                        if !open[i].pending.isEmpty { log(open[i].level, [open[i].pending[...]]) }
                        close(open[i].fd)
                        open.remove(at: i)
                        fds.remove(at: i)
                        continue
                    }
                    guard HostLog.isEnabled(open[i].level) else {  // read and dropped
                        i += 1
                        continue
                    }
                    open[i].pending += chunk[0..<n]
                    var lines: [ArraySlice<UInt8>] = []
                    var lineStart = 0
                    while let nl = open[i].pending[lineStart...].firstIndex(of: 10) {
                        lines.append(open[i].pending[lineStart..<nl])
                        lineStart = nl + 1
                    }
                    if !lines.isEmpty { log(open[i].level, lines) }
                    open[i].pending.removeFirst(lineStart)
                    if open[i].pending.count > 1 << 16 {  // a very long line: log it in pieces
                        log(open[i].level, [open[i].pending[...]])
                        open[i].pending.removeAll(keepingCapacity: true)
                    }
                    i += 1
                }
            }
            for o in open { close(o.fd) }
        }
        thread.name = "plughost-output-\(plugin)"
        thread.start()
    }
}
