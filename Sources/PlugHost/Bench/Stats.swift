import Foundation

/// Median, min and max of repeated measurements.
public struct Summary: Sendable, Codable, Hashable {
    /// The median.
    public var median: Double
    /// The smallest value.
    public var min: Double
    /// The largest value.
    public var max: Double

    /// Summarises `values` (at least one).
    public init(_ values: [Double]) {
        let s = values.sorted()
        median = s.isEmpty ? 0 : (s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2)
        min = s.first ?? 0
        max = s.last ?? 0
    }

    /// The q-th quantile (0…1) of `values`.
    public static func quantile(_ values: [Double], _ q: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let s = values.sorted()
        let i = Swift.min(s.count - 1, Swift.max(0, Int((Double(s.count) * q).rounded(.up)) - 1))
        return s[i]
    }
}

/// Monotonic nanoseconds.
@inline(__always)
public func monotonicNanos() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
