import Foundation
import Synchronization

/// Where the write path reads the time (seconds since 1970): the system clock, or a manual
/// one in tests so that TTLs and timeouts are checked without sleeping.
public protocol WallClock: Sendable {
    /// The current time in seconds since 1970.
    func now() -> Double
}

/// The system's wall clock.
public struct SystemClock: WallClock {
    /// Creates the clock.
    public init() {}
    public func now() -> Double { Date().timeIntervalSince1970 }
}

/// A clock that moves only when told to.
public final class ManualClock: WallClock {
    private let time: Mutex<Double>
    /// Creates a clock at `start`.
    public init(start: Double = 1_000_000) { time = Mutex(start) }
    public func now() -> Double { time.withLock { $0 } }
    /// Moves the clock forward by `seconds`.
    public func advance(_ seconds: Double) { time.withLock { $0 += seconds } }
}
