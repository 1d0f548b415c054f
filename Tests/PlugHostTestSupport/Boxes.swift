import Foundation

/// A locked value that escaping closures can share.
package final class OracleBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T
    package init(_ value: T) { self.value = value }
    package func get() -> T { lock.withLock { value } }
    package func set(_ v: T) { lock.withLock { value = v } }
}

/// A thread-safe box for results collected on other threads.
package final class ThreadBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T
    package init(_ value: T) { self.value = value }
    package func with<R>(_ body: (inout T) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}
