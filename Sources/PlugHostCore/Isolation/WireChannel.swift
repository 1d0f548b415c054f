import Foundation
import Synchronization

/// One side of a host–worker channel: frames written to one pipe and read from another.
///
/// Writes are serialised (a plugin's threads may log while its call returns a result); reads
/// are made by one thread at a time: the host's calling thread, or the worker's main thread.
package final class WireChannel: @unchecked Sendable {
    /// Why a read returned no frame.
    package enum Failure: Error {
        /// The other side closed its end (it exited, or closed the pipe).
        case closed
        /// The process watched by `watchFD` ended (its pidfd became readable) with no frame pending.
        case peerExited
        /// The deadline passed.
        case timedOut
        /// A frame that does not parse, or is bigger than the channel allows.
        case malformed(String)
        /// A system call failed.
        case system(String, Int32)
    }

    package let readFD: Int32
    package let writeFD: Int32
    /// The biggest frame accepted, in bytes.
    package let maxFrameBytes: Int
    // Bytes read but not yet taken: storage[start..<end].
    private var storage: UnsafeMutablePointer<UInt8>
    private var capacity = 1 << 16
    private var start = 0
    private var end = 0
    private let writeLock = Mutex<Void>(())

    /// How long a read keeps retrying before it sleeps in `poll`, in nanoseconds.
    package let spinNanoseconds: UInt64

    /// A channel over two pipe ends. Reading spins for `spinNanoseconds` before it sleeps: the
    /// other side usually answers within microseconds, and waking a sleeping process costs more
    /// than the answer (see docs/PERFORMANCE.md).
    package init(readFD: Int32, writeFD: Int32, maxFrameBytes: Int, spinNanoseconds: UInt64 = 50_000) {
        self.readFD = readFD
        self.writeFD = writeFD
        self.maxFrameBytes = maxFrameBytes
        self.spinNanoseconds = spinNanoseconds
        storage = .allocate(capacity: capacity)
        // Neither reads nor writes block: both wait in poll, bounded by the caller's deadline.
        _ = fcntl(readFD, F_SETFL, fcntl(readFD, F_GETFL) | O_NONBLOCK)
        _ = fcntl(writeFD, F_SETFL, fcntl(writeFD, F_GETFL) | O_NONBLOCK)
    }

    deinit { storage.deallocate() }

    /// Closes both descriptors.
    package func close() {
        _ = Glibc.close(readFD)
        _ = Glibc.close(writeFD)
    }

    /// Writes one frame whole, waiting (while the pipe is full) until `deadline` at most, and
    /// not after the process watched by `watchFD` ended.
    package func send(_ frame: [UInt8], deadline: UInt64? = nil, watchFD: Int32 = -1) throws(Failure) {
        let failure: Failure? = writeLock.withLock { _ in
            frame.withUnsafeBytes { raw -> Failure? in
                var offset = 0
                while offset < raw.count {
                    let n = Glibc.write(writeFD, raw.baseAddress! + offset, raw.count - offset)
                    if n >= 0 {
                        offset += n
                        continue
                    }
                    let e = errno
                    if e == EINTR { continue }
                    if e == EPIPE { return .closed }
                    guard e == EAGAIN || e == EWOULDBLOCK else { return .system("write", e) }
                    var timeout: Int32 = -1
                    if let deadline {
                        let now = DispatchTime.now().uptimeNanoseconds
                        guard now < deadline else { return .timedOut }
                        timeout = Int32(clamping: (deadline - now + 999_999) / 1_000_000)
                    }
                    var fds = [
                        pollfd(fd: writeFD, events: Int16(POLLOUT), revents: 0), pollfd(fd: watchFD, events: Int16(POLLIN), revents: 0),
                    ]
                    if poll(&fds, watchFD >= 0 ? 2 : 1, timeout) > 0, fds[0].revents == 0, watchFD >= 0, fds[1].revents != 0 {
                        return .peerExited
                    }
                }
                return nil
            }
        }
        if let failure { throw failure }
    }

    /// Reads the next frame: its kind and a reader positioned at its first field.
    ///
    /// - Parameters:
    ///   - deadline: When to give up (`DispatchTime` uptime nanoseconds), or nil to wait for ever.
    ///   - watchFD: A pidfd whose readiness means the peer ended, or -1.
    package func receive(deadline: UInt64? = nil, watchFD: Int32 = -1) throws(Failure) -> (WireKind, WireReader) {
        while true {
            // Checked for every frame: a peer that keeps sending (logs, requests) cannot stretch it.
            if let deadline, DispatchTime.now().uptimeNanoseconds >= deadline { throw .timedOut }
            if let frame = try takeFrame() { return frame }
            if try fill() { continue }
            if spinNanoseconds > 0 {
                let until = DispatchTime.now().uptimeNanoseconds + spinNanoseconds
                var got = false
                repeat {
                    got = try fill()
                } while !got && DispatchTime.now().uptimeNanoseconds < until
                if got { continue }
            }
            try wait(deadline: deadline, watchFD: watchFD)
        }
    }

    private func takeFrame() throws(Failure) -> (WireKind, WireReader)? {
        let available = end - start
        guard available >= 4 else { return nil }
        var length = 0
        for i in (0..<4).reversed() { length = length << 8 | Int(storage[start + i]) }
        guard length >= 1, length <= maxFrameBytes else {
            throw .malformed("a frame of \(length) bytes (the channel allows 1 to \(maxFrameBytes))")
        }
        guard available >= 4 + length else {
            reserve(4 + length)
            return nil
        }
        let rawKind = storage[start + 4]
        let body = Array(UnsafeBufferPointer(start: storage + start + 5, count: length - 1))
        start += 4 + length
        if start == end {
            start = 0
            end = 0
        }
        guard let kind = WireKind(rawValue: rawKind) else { throw .malformed("unknown message kind \(rawKind)") }
        return (kind, WireReader(body))
    }

    /// Makes room for a frame of `total` bytes from `start`, plus a read's worth.
    private func reserve(_ total: Int) {
        if start > 0 {
            storage.update(from: storage + start, count: end - start)
            end -= start
            start = 0
        }
        if total + (1 << 16) > capacity {
            let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: total + (1 << 16))
            bigger.update(from: storage, count: end)
            storage.deallocate()
            storage = bigger
            capacity = total + (1 << 16)
        }
    }

    private func wait(deadline: UInt64?, watchFD: Int32) throws(Failure) {
        while true {
            var timeout: Int32 = -1
            if let deadline {
                let now = DispatchTime.now().uptimeNanoseconds
                guard now < deadline else { throw .timedOut }
                timeout = Int32(clamping: (deadline - now + 999_999) / 1_000_000)
            }
            var fds = [pollfd(fd: readFD, events: Int16(POLLIN), revents: 0), pollfd(fd: watchFD, events: Int16(POLLIN), revents: 0)]
            let rc = poll(&fds, watchFD >= 0 ? 2 : 1, timeout)
            if rc < 0 {
                if errno == EINTR { continue }
                throw .system("poll", errno)
            }
            if rc == 0 { continue }  // the deadline check above decides
            if fds[0].revents != 0 { return }
            if watchFD >= 0 && fds[1].revents != 0 {
                // The peer ended; take what it wrote before it did.
                var more = pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)
                if poll(&more, 1, 0) > 0 { return }
                throw .peerExited
            }
        }
    }

    /// Reads what is there; false when nothing is (the descriptor is non-blocking).
    private func fill() throws(Failure) -> Bool {
        if end == capacity { reserve(end - start) }
        while true {
            let n = Glibc.read(readFD, storage + end, capacity - end)
            if n < 0 {
                let e = errno
                if e == EINTR { continue }
                if e == EAGAIN || e == EWOULDBLOCK { return false }
                throw .system("read", e)
            }
            if n == 0 { throw .closed }
            end += n
            return true
        }
    }
}
