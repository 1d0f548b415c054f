import CPlugHostRuntime
import Foundation
import PlugHostCore
import Synchronization

/// One running worker process: its channel, its pid (and pidfd, to see it end) and the
/// threads that log what it prints.
package final class PluginWorker: @unchecked Sendable {
    package let pid: pid_t
    package let channel: WireChannel
    /// A pidfd (readable once the worker has ended), or -1 on kernels without pidfds.
    package let pidfd: Int32
    private let reaped = Mutex<Int32?>(nil)
    /// What the lines it prints are tagged with: the plugin, and while a call runs, the
    /// caller's ``LogContext`` (a pipeline's step and item).
    package let logTags: OutputPump.Tags

    private init(pid: pid_t, channel: WireChannel, pidfd: Int32, plugin: String) {
        self.pid = pid
        self.channel = channel
        self.pidfd = pidfd
        self.logTags = OutputPump.Tags(plugin: plugin)
    }

    deinit {
        stop()
        channel.close()
        if pidfd >= 0 { close(pidfd) }
    }

    /// Starts a worker. What it prints goes to the host log a line at a time, tagged with
    /// `plugin`: standard output at info level, standard error at warning. Its log level is the
    /// host's (``HostLog/plugins``), passed as `PLUGHOST_LOG`.
    package static func start(
        executable: String, plugin: String, maxFrameBytes: Int
    ) throws -> PluginWorker {
        Self.ignoreSIGPIPE
        var request: [Int32] = [0, 0], reply: [Int32] = [0, 0], out: [Int32] = [0, 0], err: [Int32] = [0, 0]
        for i in 0..<4 {
            let ok: Bool
            switch i {
            case 0: ok = ph_rt_pipe_cloexec(&request) == 0
            case 1: ok = ph_rt_pipe_cloexec(&reply) == 0
            case 2: ok = ph_rt_pipe_cloexec(&out) == 0
            default: ok = ph_rt_pipe_cloexec(&err) == 0
            }
            guard ok else { throw LoadError(.workerFailed, path: executable, "pipe2 failed: \(String(cString: strerror(errno)))") }
        }
        let argv = [executable, "--parent", String(getpid())]
        // A minimal environment: the host's may hold credentials (API keys, SSH_AUTH_SOCK).
        let host = ProcessInfo.processInfo.environment
        var env = host.filter { Self.passedEnvironment.contains($0.key) || $0.key.hasPrefix("LC_") }
        env["SWIFT_BACKTRACE"] = "enable=no"  // a crash is reported by the host, at once
        env[LoggingBootstrap.levelVariable] = HostLog.plugins.logLevel.rawValue
        let envp = env.map { "\($0.key)=\($0.value)" }
        let pid = withCStrings(argv) { cArgv in
            withCStrings(envp) { cEnvp in
                ph_rt_spawn_worker(executable, cArgv, cEnvp, request[0], reply[1], out[1], err[1])
            }
        }
        for fd in [request[0], reply[1], out[1], err[1]] { close(fd) }
        guard pid > 0 else {
            for fd in [request[1], reply[0], out[0], err[0]] { close(fd) }
            throw LoadError(.workerFailed, path: executable, "cannot start the worker: \(String(cString: strerror(-pid)))")
        }
        let worker = PluginWorker(
            pid: pid, channel: WireChannel(readFD: reply[0], writeFD: request[1], maxFrameBytes: maxFrameBytes),
            pidfd: ph_rt_pidfd_open(pid), plugin: plugin)
        OutputPump.start(stdout: out[0], stderr: err[0], tags: worker.logTags)
        return worker
    }

    /// The host's environment variables a worker gets (and every `LC_*`).
    package static let passedEnvironment: Set<String> = ["PATH", "HOME", "USER", "LANG", "TZ", "TMPDIR", "RUST_BACKTRACE"]

    private static let ignoreSIGPIPE: Void = {
        // A write to a worker that died must fail with EPIPE, not end the host.
        signal(SIGPIPE, SIG_IGN)
    }()

    /// Waits up to `milliseconds` for the worker to end on its own; true when it has.
    package func awaitExit(milliseconds: Int32) -> Bool {
        if reaped.withLock({ $0 }) != nil { return true }
        guard pidfd >= 0 else { return false }
        var p = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, milliseconds) > 0
    }

    /// Kills the worker and everything in its process group, and reaps it. Idempotent.
    package func stop() {
        guard reaped.withLock({ $0 }) == nil else { return }
        // The group first, while the worker (its leader) is unreaped, so that its id is not reused.
        kill(-pid, SIGKILL)
        kill(pid, SIGKILL)
        _ = waitStatus()
    }

    /// Waits for the worker to end and returns its wait status (cached after the first call).
    @discardableResult
    package func waitStatus() -> Int32 {
        reaped.withLock { status in
            if let status { return status }
            var s: Int32 = 0
            var rc: pid_t
            repeat { rc = waitpid(pid, &s, 0) } while rc < 0 && errno == EINTR
            // ECHILD: something else reaped it (an embedding app's SIGCHLD handler); say so.
            if rc < 0 { s = -1 }
            status = s
            return s
        }
    }

    /// How the worker ended, for a message: "SIGSEGV (segmentation fault)", "exit status 3".
    package func endDescription() -> String {
        let status = waitStatus()
        if status == -1 { return "ended (its exit status was collected by someone else)" }
        // What it forked dies with it (the worker is reaped, but its group may still run).
        kill(-pid, SIGKILL)
        let signal = status & 0x7F
        if signal != 0 {
            let name = Self.signalNames[signal].map { "SIG\($0)" } ?? "signal \(signal)"
            return "\(name) (\(String(cString: strsignal(signal))))"
        }
        return "exited with status \((status >> 8) & 0xFF)"
    }

    private static let signalNames: [Int32: String] = [
        SIGSEGV: "SEGV", SIGABRT: "ABRT", SIGBUS: "BUS", SIGFPE: "FPE", SIGILL: "ILL", SIGKILL: "KILL", SIGTERM: "TERM",
        SIGXCPU: "XCPU", SIGXFSZ: "XFSZ", SIGSYS: "SYS", SIGTRAP: "TRAP", SIGPIPE: "PIPE", SIGINT: "INT", SIGQUIT: "QUIT",
        SIGHUP: "HUP", SIGUSR1: "USR1", SIGUSR2: "USR2", SIGALRM: "ALRM",
    ]
}

private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var pointers = strings.map { strdup($0) } + [nil]
    defer { pointers.forEach { free($0) } }
    return pointers.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
}
