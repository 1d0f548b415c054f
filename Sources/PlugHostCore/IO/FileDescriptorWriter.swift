import Foundation

/// Whole writes to a file descriptor.
package enum FileDescriptorWriter {
    /// Writes all of `bytes` to `fd`, retrying short and interrupted writes; stops at the first
    /// other failure (a closed pipe, a full disk), which callers that log or journal ignore.
    package static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }
}
