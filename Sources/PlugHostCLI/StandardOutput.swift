import Foundation
import Synchronization

/// Keeps a command's own output (results, `--json`) apart from whatever a plugin prints.
///
/// A plugin in `process` isolation prints into its worker's pipes, which the host logs. One
/// running `in-process` shares the host's file descriptors: after ``reserve()``, its writes to
/// descriptor 1 land on standard error, and only the command writes to the real standard output.
enum StandardOutput {
    private static let reserved = Mutex<FileHandle?>(nil)

    /// Points descriptor 1 at standard error and returns a handle on the original standard output.
    static func reserve() -> FileHandle {
        reserved.withLock { current in
            if let current { return current }
            fflush(nil)
            let saved = dup(STDOUT_FILENO)
            guard saved >= 0 else { return FileHandle.standardOutput }
            _ = fcntl(saved, F_SETFD, FD_CLOEXEC)
            dup2(STDERR_FILENO, STDOUT_FILENO)
            let handle = FileHandle(fileDescriptor: saved, closeOnDealloc: true)
            current = handle
            return handle
        }
    }

    /// The command's standard output: the reserved one after ``reserve()``, else descriptor 1.
    static var command: FileHandle { reserved.withLock { $0 } ?? FileHandle.standardOutput }
}

extension FileHandle {
    /// Writes `text` and a newline.
    func writeLine(_ text: String) {
        write(Data((text + "\n").utf8))
    }
}
