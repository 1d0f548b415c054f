// plughost-worker: loads one plugin in a process of its own and runs its calls for a host.
//
// The host starts it with fd 3 (requests from the host), fd 4 (replies to the host) and fds 1
// and 2 on a pipe the host logs from; see `WorkerServer`. It is not meant to be run by hand.
import CPlugHostRuntime
import Glibc
import Logging
import PlugHostCore

guard CommandLine.arguments.count == 3, CommandLine.arguments[1] == "--parent", let parent = Int32(CommandLine.arguments[2]) else {
    let line = "plughost-worker is started by plughost to run one plugin in a process of its own; it is not run by hand.\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
    exit(64)
}
// A worker never outlives its host.
_ = ph_rt_die_with_parent(parent)
signal(SIGPIPE, SIG_IGN)
let channel = WireChannel(readFD: 3, writeFD: 4, maxFrameBytes: WorkerServer.maxFrameBytes)
// Log lines go to the host over the channel, at the host's level (it sets PLUGHOST_LOG).
let level =
    getenv(LoggingBootstrap.levelVariable).flatMap { Logger.Level(plughostName: String(cString: $0)) } ?? LoggingBootstrap.defaultLevel
LoggingBootstrap.bootstrap { _ in ChannelLogHandler(channel: channel, logLevel: level) }
WorkerServer(channel: channel).run()
