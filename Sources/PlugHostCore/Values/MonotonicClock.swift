import Dispatch

/// Monotonic nanoseconds.
@inline(__always)
package func monotonicNanos() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
