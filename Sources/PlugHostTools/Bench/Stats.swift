import Foundation
import PlugHost
import PlugHostPostgres

/// Median, min and max of repeated measurements.
package struct Summary: Sendable, Codable, Hashable {
    /// The median.
    package var median: Double
    /// The smallest value.
    package var min: Double
    /// The largest value.
    package var max: Double

    /// Summarises `values` (at least one).
    package init(_ values: [Double]) {
        let s = values.sorted()
        median = s.isEmpty ? 0 : (s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2)
        min = s.first ?? 0
        max = s.last ?? 0
    }

    /// The q-th quantile (0…1) of `values`.
    package static func quantile(_ values: [Double], _ q: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let s = values.sorted()
        let i = Swift.min(s.count - 1, Swift.max(0, Int((Double(s.count) * q).rounded(.up)) - 1))
        return s[i]
    }
}
