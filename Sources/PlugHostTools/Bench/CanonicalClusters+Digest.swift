import Crypto
import Foundation
import PlugHostMemory
import PlugHost
import PlugHostPostgres

extension CanonicalClusters {
    /// SHA-256 hex of the canonical JSON (``CanonicalClusters/json(_:)``).
    ///
    /// It lives with the benchmarks and workload tools so that the library does not link
    /// swift-crypto for one digest; the bytes it hashes are the library's canonical JSON.
    package static func digest(_ goals: [GoalClusters]) -> String {
        SHA256.hash(data: Data(json(goals).utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
