import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// MCP over stdio: newline-delimited JSON-RPC on two file descriptors.
///
/// The reader blocks in `poll(2)` and `read(2)` (no timed polling: a message is handled the
/// moment it arrives) and hands each line to the server; `tools/call` requests run on other
/// threads, so requests overlap. Replies are written whole, one line each, under a lock. A line
/// over `maxMessageBytes` is skipped with one error. ``run()`` returns at end of input, on a
/// read error, or as soon as a write fails (the client closed its end: with SIGPIPE ignored,
/// as `plughost mcp` does, that is `EPIPE`).
public final class StdioTransport: Sendable {
    /// The default for the longest line read: 64 MiB.
    public static let defaultMaxMessageBytes = 64 << 20

    private let server: MCPServer
    private let session: MCPSession
    private let input: Int32
    private let output: Int32
    private let maxMessageBytes: Int
    private let writeLock = Mutex<Void>(())
    private let broken = Atomic<Bool>(false)
    /// A pipe whose read end the reader polls beside `input`: a failed write wakes it.
    private let wakeRead: Int32
    private let wakeWrite: Int32

    /// Serves `session` on `input` and `output` (descriptors the caller keeps open).
    public init(
        server: MCPServer, session: MCPSession, input: Int32, output: Int32, maxMessageBytes: Int = defaultMaxMessageBytes
    ) throws {
        self.server = server
        self.session = session
        self.input = input
        self.output = output
        self.maxMessageBytes = maxMessageBytes
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            throw MCPTransportError("cannot make the stdio transport's wake-up pipe: \(String(cString: strerror(errno)))")
        }
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        wakeRead = fds[0]
        wakeWrite = fds[1]
    }

    deinit {
        close(wakeRead)
        close(wakeWrite)
    }

    /// Whether a write failed (the client is gone).
    public var clientGone: Bool { broken.load(ordering: .relaxed) }

    /// Serves until end of input, a read error or a failed write. Requests still running are
    /// the caller's to wait for (``MCPServer/drain(timeout:)``).
    public func run() {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var line: [UInt8] = []
        // Set while the rest of an oversized line is read and dropped.
        var skipping = false
        let emit: @Sendable (MCPServer.Output) -> Void = { [self] output in
            switch output {
            case .notification(let text), .response(let text): write(text)
            case .cancelled: break  // a cancelled request is not answered
            }
        }
        func tooLong() {
            write(
                MCPServer.error(
                    id: .null, code: -32600,
                    "invalid request: a message is over the \(Self.describe(maxMessageBytes)) limit; it was skipped"))
        }
        readLoop: while !broken.load(ordering: .relaxed) {
            var fds = [pollfd(fd: input, events: Int16(POLLIN), revents: 0), pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                break
            }
            if fds[1].revents != 0 { break }
            let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                break
            }
            if n == 0 { break }
            var start = 0
            while start < n {
                let newline = buffer.withUnsafeBytes { b -> Int? in
                    memchr(b.baseAddress! + start, Int32(UInt8(ascii: "\n")), n - start).map { b.baseAddress!.distance(to: $0) }
                }
                guard let end = newline else {
                    // The line goes on in the next read.
                    if !skipping {
                        if line.count + (n - start) > maxMessageBytes {
                            tooLong()
                            skipping = true
                            line = []
                        } else {
                            line += buffer[start..<n]
                        }
                    }
                    break
                }
                if skipping {
                    skipping = false
                } else if line.count + (end - start) > maxMessageBytes {
                    tooLong()
                } else if line.isEmpty {
                    handle(buffer[start..<end], emit: emit)
                } else {
                    line += buffer[start..<end]
                    handle(line[...], emit: emit)
                }
                line.removeAll(keepingCapacity: line.capacity <= 1 << 20)
                start = end + 1
                if broken.load(ordering: .relaxed) { break readLoop }
            }
        }
        if !line.isEmpty, !skipping, !broken.load(ordering: .relaxed) { handle(line[...], emit: emit) }
    }

    private func handle(_ bytes: ArraySlice<UInt8>, emit: @escaping @Sendable (MCPServer.Output) -> Void) {
        var slice = bytes
        if slice.last == UInt8(ascii: "\r") { slice = slice.dropLast() }
        if slice.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
        slice.withUnsafeBytes { server.handle($0, session: session, emit: emit) }
    }

    /// Writes one message and a newline, whole. A failed write marks the client gone and wakes
    /// the reader; later writes are dropped.
    private func write(_ text: String) {
        var bytes = Array(text.utf8)
        bytes.append(UInt8(ascii: "\n"))
        writeLock.withLock { _ in
            var off = 0
            while off < bytes.count, !broken.load(ordering: .relaxed) {
                let n = bytes[off...].withUnsafeBytes { Glibc.write(output, $0.baseAddress, $0.count) }
                if n < 0 {
                    if errno == EINTR { continue }
                    broken.store(true, ordering: .relaxed)  // the client is gone (EPIPE)
                    var one: UInt8 = 1
                    _ = Glibc.write(wakeWrite, &one, 1)
                    return
                }
                off += n
            }
        }
    }

    /// `64 MiB`, or the byte count when it is not a whole number of MiB.
    static func describe(_ bytes: Int) -> String {
        bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : "\(bytes)-byte"
    }
}
