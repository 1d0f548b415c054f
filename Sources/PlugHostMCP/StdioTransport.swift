import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// MCP over stdio: newline-delimited JSON-RPC on two file descriptors.
///
/// The reader blocks in `read(2)` (no polling: a message is handled the moment it arrives) and
/// hands each line to the server; `tools/call` requests run on other threads, so requests
/// overlap. Replies are written whole, one line each, under a lock. ``run()`` returns at end of
/// input once every running request has answered.
public final class StdioTransport: Sendable {
    private let server: MCPServer
    private let session: MCPSession
    private let input: Int32
    private let output: Int32
    private let writeLock = Mutex<Void>(())
    private let broken = Atomic<Bool>(false)

    /// Serves `session` on `input` and `output` (descriptors the caller keeps open).
    public init(server: MCPServer, session: MCPSession, input: Int32, output: Int32) {
        self.server = server
        self.session = session
        self.input = input
        self.output = output
    }

    /// Serves until end of input (or a read error), then waits up to `drainTimeout` for running
    /// requests to answer.
    public func run(drainTimeout: Duration = .seconds(30)) {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var line: [UInt8] = []
        let emit: @Sendable (MCPServer.Output) -> Void = { [self] output in
            switch output {
            case .notification(let text), .response(let text): write(text)
            case .cancelled: break  // a cancelled request is not answered
            }
        }
        readLoop: while true {
            let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                break
            }
            if n == 0 { break }
            var start = 0
            for i in 0..<n where buffer[i] == UInt8(ascii: "\n") {
                if line.isEmpty {
                    handle(buffer[start..<i], emit: emit)
                } else {
                    line += buffer[start..<i]
                    handle(line[...], emit: emit)
                    line.removeAll(keepingCapacity: true)
                }
                start = i + 1
                if broken.load(ordering: .relaxed) { break readLoop }
            }
            if start < n {
                line += buffer[start..<n]
                if line.count > 64 << 20 {
                    write(MCPServer.error(id: .null, code: -32600, "a message is over 64 MiB"))
                    line.removeAll()
                }
            }
        }
        if !line.isEmpty { handle(line[...], emit: emit) }
        _ = server.drain(timeout: drainTimeout)
    }

    private func handle(_ bytes: ArraySlice<UInt8>, emit: @escaping @Sendable (MCPServer.Output) -> Void) {
        var slice = bytes
        if slice.last == UInt8(ascii: "\r") { slice = slice.dropLast() }
        if slice.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
        slice.withUnsafeBytes { server.handle($0, session: session, emit: emit) }
    }

    /// Writes one message and a newline, whole.
    private func write(_ text: String) {
        var bytes = Array(text.utf8)
        bytes.append(UInt8(ascii: "\n"))
        writeLock.withLock { _ in
            var off = 0
            while off < bytes.count {
                let n = bytes[off...].withUnsafeBytes { Glibc.write(output, $0.baseAddress, $0.count) }
                if n < 0 {
                    if errno == EINTR { continue }
                    broken.store(true, ordering: .relaxed)  // the client is gone
                    return
                }
                off += n
            }
        }
    }
}
