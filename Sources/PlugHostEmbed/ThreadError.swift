import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The calling thread's last error message, for `plughost_last_error`.
///
/// Each thread has its own message in thread-specific storage: a `malloc`'d copy that the
/// next API call on that thread frees (or that is freed when the thread exits).
enum ThreadError {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let rc = pthread_key_create(&key) { free($0) }
        precondition(rc == 0, "plughost: pthread_key_create failed (\(rc))")
        return key
    }()

    /// What `plughost_last_error` returns when the thread's last call succeeded: "".
    nonisolated(unsafe) private static let empty: UnsafeMutablePointer<CChar> = strdup("")!

    /// The thread's last error code (an ``ErrorCode`` raw value) as a pointer-sized integer.
    private static let codeKey: pthread_key_t = {
        var key = pthread_key_t()
        let rc = pthread_key_create(&key, nil)
        precondition(rc == 0, "plughost: pthread_key_create failed (\(rc))")
        return key
    }()

    /// Forgets the thread's message and code (each API call begins with this).
    static func clear() {
        if let old = pthread_getspecific(key) {
            pthread_setspecific(key, nil)
            free(old)
        }
        if pthread_getspecific(codeKey) != nil { pthread_setspecific(codeKey, nil) }
    }

    /// Records `message` and `code` as the thread's last error.
    static func set(_ message: String, code: ErrorCode) {
        clear()
        // A NUL inside the message would cut it short: show it instead.
        let text = message.replacingOccurrences(of: "\0", with: "\\0")
        if let copy = strdup(text) { pthread_setspecific(key, copy) }
        pthread_setspecific(codeKey, UnsafeRawPointer(bitPattern: Int(code.rawValue)))
    }

    /// Records `error`'s message and the code it maps to.
    static func set(_ error: any Error) {
        set(String(describing: error), code: ErrorCode(error))
    }

    /// The thread's last error code: ``ErrorCode/ok`` when its last call succeeded.
    static var code: ErrorCode {
        ErrorCode(rawValue: Int32(truncatingIfNeeded: Int(bitPattern: pthread_getspecific(codeKey)))) ?? .internal
    }

    /// The thread's last error message, or "" when its last call succeeded. Valid until the
    /// thread's next API call.
    static var current: UnsafePointer<CChar> {
        if let p = pthread_getspecific(key) { return UnsafePointer(p.assumingMemoryBound(to: CChar.self)) }
        return UnsafePointer(empty)
    }
}
